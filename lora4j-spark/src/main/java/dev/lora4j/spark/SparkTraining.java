package dev.lora4j.spark;

import dev.lora4j.Lora4jException;
import dev.lora4j.cli.TrainCommand;
import dev.lora4j.train.FineTune;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.Function1;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Data-parallel LoRA training on Spark, from the driver: the run of {@code lora4j train} with the given flags, on W
 * workers, one barrier task each ({@link TrainTask}; barrier execution mode starts them together and restarts them
 * together). The driver claims the output (as a single-machine run does: never an input, never someone else's files, one
 * run at a time), shows rank 0's reports, prepares the output once every worker has validated the run, and publishes
 * the result rank 0 staged. The batch size is per worker: W workers with batch b train as one process with batch W·b.
 * Model, data and output are local paths that every executor sees (local mode, a shared mount), or URIs of any file
 * system Hadoop's client has on the class path ({@code hdfs://…}, {@code s3a://…}): each executor JVM then copies a
 * remote input once ({@link InputCache}), and rank 0 publishes checkpoints and the result to a remote output
 * ({@link RemoteRun}, {@link RemoteOutput}), which the driver claims under the same rules as a local one.
 */
public final class SparkTraining {
    /** Seconds an all-reduce, a connection or the driver's answer may stall before the worker fails (and the stage restarts). */
    public static final String TIMEOUT_CONF = "spark.lora4j.timeout";
    private static final int DEFAULT_TIMEOUT_SECONDS = 600;
    /**
     * The executors' local directory for copies of remote inputs and the local side of a remote output (default: the
     * executor's {@code java.io.tmpdir}, plus {@code /lora4j-spark}).
     */
    public static final String CACHE_CONF = "spark.lora4j.cacheDir";

    private SparkTraining() {}

    /**
     * Trains as {@code lora4j train givenArgs} does, on {@code workers} workers (0: one per task slot), reporting to
     * {@code listener} on the driver; returns what rank 0 measured. Bad input ends in a {@link Lora4jException}.
     */
    public static FineTune.Result train(JavaSparkContext sc, int workers, List<String> givenArgs, FineTune.Listener listener) {
        List<String> trainArgs = RunPaths.withLocalFiles(givenArgs);
        FineTune driver = TrainCommand.fineTune(trainArgs).build();         // checks the flags before anything starts
        int slots = sc.defaultParallelism() / Integer.parseInt(sc.getConf().get("spark.task.cpus", "1"));
        int W = workers > 0 ? workers : slots;
        if (W > slots || W < 1) {
            throw new Lora4jException(W + " workers need " + W + " task slots at once (barrier mode starts them together), but "
                    + sc.master() + " has " + slots + ": give at most --workers " + Math.max(1, slots) + ", or a cluster with more slots");
        }
        boolean resume = trainArgs.contains("--resume");
        int timeout = sc.getConf().getInt(TIMEOUT_CONF, DEFAULT_TIMEOUT_SECONDS);
        try (RunOutput out = RunOutput.claim(driver, trainArgs, sc.hadoopConfiguration());
             ProgressServer progress = ProgressServer.start(sc.getConf().get("spark.driver.host", "localhost"), listener, out::prepare, resume)) {
            TrainTask task = new TrainTask(List.copyOf(trainArgs), W, new Random().nextLong(), progress.address().getHostString(),
                    progress.address().getPort(), timeout, HadoopSettings.of(sc.hadoopConfiguration()), sc.getConf().get(CACHE_CONF, null));
            List<WorkerResult> results = run(sc, task);
            for (WorkerResult r : results) if (r.error() != null) throw new Lora4jException(r.error());
            WorkerResult first = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
            out.publish();
            Map<String, Double> eval = first.lastEval();
            return new FineTune.Result(out.path(), progress.plan(), first.steps(), first.trainSeconds(), Map.copyOf(eval));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<WorkerResult> run(JavaSparkContext sc, TrainTask task) {
        JavaRDD<Integer> ranks = sc.parallelize(IntStream.range(0, task.worldSize()).boxed().toList(), task.worldSize());
        ClassTag<WorkerResult> tag = ClassTag$.MODULE$.apply(WorkerResult.class);
        Function1<Iterator<Integer>, Iterator<WorkerResult>> body = (Function1<Iterator<Integer>, Iterator<WorkerResult>> & Serializable)
                partition -> CollectionConverters.asScala(List.of(runTask(task)).iterator());
        RDD<WorkerResult> trained = ranks.rdd().barrier().mapPartitions(body, false, tag);
        try {
            // the shuffle makes the barrier stage a map stage, which Spark restarts whole when a task fails (a failed barrier
            // result stage is not restarted, the job just fails)
            return JavaRDD.fromRDD(trained, tag).repartition(1).collect();
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    private static WorkerResult runTask(TrainTask task) {
        try {
            return task.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A failed job as one message: bad input a worker met (a Lora4jException) as it is, anything else as what Spark said. */
    private static Lora4jException failure(RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Lora4jException l) return new Lora4jException(l.getMessage(), e);
        }
        String m = String.valueOf(e.getMessage());
        int at = m.indexOf("\n\tat ");
        return new Lora4jException("the Spark job failed: " + (at < 0 ? m : m.substring(0, at)).strip(), e);
    }
}
