package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.train.FineTune;
import java.util.List;
import java.util.ServiceLoader;

/**
 * {@code train --spark-master}: data-parallel training, provided by lora4j-spark through {@link ServiceLoader} when it is
 * on the class path (./lora4j puts it there for that flag), so the command line itself does not depend on Spark.
 */
public interface DistributedTraining {
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
