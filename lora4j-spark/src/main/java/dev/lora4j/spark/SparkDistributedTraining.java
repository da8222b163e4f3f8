package dev.lora4j.spark;

import dev.lora4j.cli.DistributedTraining;
import dev.lora4j.train.FineTune;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code lora4j train --spark-master M}: found by the CLI through {@link java.util.ServiceLoader} when lora4j-spark is on
 * the class path. Starts a Spark context on {@code M} (embedded for {@code local[N]}; under spark-submit with its
 * settings) and runs {@link SparkTraining}. A barrier stage that needs more slots than there are fails after one check
 * a second later, not after Spark's default ten minutes of retries. An embedded Spark logs warnings only and has no web UI.
 */
public final class SparkDistributedTraining implements DistributedTraining {
    @Override
    public FineTune.Result train(String master, int workers, List<String> trainArgs, FineTune.Listener listener) {
        SparkConf conf = new SparkConf().setMaster(master).setIfMissing("spark.app.name", "lora4j train")
                .setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "1")
                .setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s");
        if (master.startsWith("local")) conf.setIfMissing("spark.ui.enabled", "false").setIfMissing("spark.log.level", "WARN");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            return SparkTraining.train(sc, workers, trainArgs, listener);
        }
    }
}
