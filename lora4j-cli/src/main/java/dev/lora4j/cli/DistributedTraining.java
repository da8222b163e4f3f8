package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.train.FineTune;
import java.util.List;
import java.util.ServiceLoader;
import java.util.regex.Pattern;

/**
 * {@code train --spark-master}: data-parallel training, provided by lora4j-spark through {@link ServiceLoader} when it is
 * on the class path (./lora4j puts it there for that flag), so the command line itself does not depend on Spark.
 */
public interface DistributedTraining {
    /** A location given as a URI with a scheme of two letters or more ({@code hdfs://…}, {@code s3a://…}, {@code file:/…}). */
    Pattern URI = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:/.*");

    /**
     * True when {@code path} is a URI ({@link #URI}) rather than a local path: the distributed trainer reads and writes
     * it through the cluster's file systems (Hadoop's), so it travels to the workers as given.
     */
    static boolean isUri(String path) {
        return URI.matcher(path).matches();
    }

    /**
     * Trains as {@code lora4j train trainArgs} does, on {@code workers} data-parallel workers (0: one per task slot) of
     * {@code master}, reporting to {@code listener} in this process.
     */
    FineTune.Result train(String master, int workers, List<String> trainArgs, FineTune.Listener listener);

    /** The provider on the class path, or an error saying how to get one. */
    static DistributedTraining find() {
        return ServiceLoader.load(DistributedTraining.class).findFirst().orElseThrow(() -> new Lora4jException(
                "--spark-master needs lora4j-spark on the class path: run ./lora4j (which adds it for this flag), or spark-submit lora4j-spark.jar"));
    }
}
