package dev.lora4j.spark;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Benchmarks of data-parallel training, not on the user path: {@code allreduce} (the workers' all-reduce of one adapter's
 * gradients) and {@code train} (tokens/s with 1 and W workers). Run by tools/bench/spark.sh; each prints JSON lines.
 */
@Command(name = "spark-bench", mixinStandardHelpOptions = true, subcommands = {AllReduceBench.class, TrainThroughputBench.class},
        description = "Benchmarks of data-parallel training on Spark; JSON lines.")
public final class SparkBench {
    private SparkBench() {}

    public static void main(String[] args) {
        System.exit(new CommandLine(new SparkBench()).execute(args));
    }
}
