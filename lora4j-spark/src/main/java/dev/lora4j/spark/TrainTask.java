package dev.lora4j.spark;

import dev.lora4j.cli.TrainCommand;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingDivergedException;
import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.BarrierTaskContext;

/**
 * One barrier task: one worker of a data-parallel run. Rank 0 listens and shares its address with one
 * {@code allGather}; the others connect to it ({@link SocketAllReduce}). Each builds the run from the train command's
 * flags, loads the base (shared by the workers of its JVM, {@link SharedBase}) and the data, and trains its shard of
 * every micro-batch ({@link FineTune#runWorker}); rank 0 reports to the driver and writes the run's files. A restarted
 * stage continues from the latest checkpoint. Inputs given as URIs are read from the JVM's {@link InputCache}; an output
 * given as one is written in a local directory of the task attempt and published by rank 0 ({@link RemoteRun}).
 */
record TrainTask(List<String> trainArgs, int worldSize, long job, String driverHost, int driverPort, int timeoutSeconds,
                 HadoopSettings hadoop, String cacheDir) implements Serializable {
    /** Test hook: called on every worker after each optimizer step with (rank, stage attempt, step); a test throws from it. */
    interface StepHook {
        void after(int rank, int attempt, int step);
    }

    static volatile StepHook stepHook = (rank, attempt, step) -> {};

    WorkerResult run() throws IOException {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int rank = ctx.partitionId(), attempt = ctx.stageAttemptNumber();
        if (ctx.getTaskInfos().length != worldSize) throw new IllegalStateException("the barrier stage has " + ctx.getTaskInfos().length + " tasks, not " + worldSize);
        String host = host(ctx.getTaskInfos()[rank].address());
        long token = job * 1_000_003L + attempt, timeout = timeoutSeconds * 1_000_000_000L;
        BooleanSupplier cancelled = ctx::isInterrupted;
        try (ServerSocketChannel server = rank == 0 ? SocketAllReduce.listen(host) : null) {
            String mine = server == null ? "" : host + ":" + ((InetSocketAddress) server.getLocalAddress()).getPort();
            String rank0 = ctx.allGather(mine)[0];
            try (SocketAllReduce group = rank == 0 ? SocketAllReduce.accept(server, worldSize, token, timeout, cancelled)
                    : SocketAllReduce.connect(address(rank0), rank, worldSize, token, timeout, cancelled);
                 ProgressClient progress = rank == 0 ? new ProgressClient(new InetSocketAddress(driverHost, driverPort), attempt, timeoutSeconds * 1000) : null) {
                return local(rank, (args, remote) -> train(group, progress, attempt, args, remote));
            }
        }
    }

    private interface Body {
        WorkerResult run(List<String> args, RemoteRun remote);
    }

    /** Runs {@code body} with the flags rewritten to local copies of what is remote (and a local output directory). */
    private WorkerResult local(int rank, Body body) throws IOException {
        RunPaths paths = RunPaths.of(trainArgs);
        boolean remoteOut = RunPaths.isRemote(paths.out());
        if (paths.remoteInputs().isEmpty() && !remoteOut) return body.run(trainArgs, null);
        Configuration conf = hadoop.configuration();
        Path cache = cacheDir != null ? Path.of(cacheDir) : Path.of(System.getProperty("java.io.tmpdir"), "lora4j-spark");
        Map<String, String> local = new HashMap<>();
        paths.remoteInputs().forEach((flag, uri) -> local.put(flag, InputCache.local(uri, conf, cache).toString()));
        if (!remoteOut) return body.run(RunPaths.replace(trainArgs, local), null);
        Path dir = Files.createTempDirectory(Files.createDirectories(cache.resolve("runs")), "run-");
        try {
            local.put(RunPaths.OUT, dir.toString());
            return body.run(RunPaths.replace(trainArgs, local), RemoteRun.open(paths.out(), conf, dir, rank == 0));
        } finally {
            AtomicFiles.deleteRecursively(dir);
        }
    }

    private WorkerResult train(SocketAllReduce group, ProgressClient progress, int attempt, List<String> args, RemoteRun remote) {
        int rank = group.rank();
        FineTune.Listener report = progress != null ? progress : new FineTune.Listener() {};
        FineTune.Listener listener = new FineTune.Listener() {
            @Override public void onPlan(FineTune.Plan p) { report.onPlan(p); }
            @Override public void onStart(FineTune.Start s) { report.onStart(s); }
            @Override public void onResume(int step, List<String> overridden) { report.onResume(step, overridden); }
            @Override public void onEval(int step, Map<String, Double> m) { report.onEval(step, m); }
            @Override public void onStep(Trainer.StepMetrics m) {
                report.onStep(m);
                if (remote != null && rank == 0) remote.publishCheckpoint();
                stepHook.after(rank, attempt, m.step());
            }
        };
        AtomicBoolean loading = new AtomicBoolean(true);
        SharedBase.LOADING.acquireUninterruptibly();
        try {
            FineTune fineTune = TrainCommand.fineTune(args).listener(listener).preparedModel(model -> {
                SharedBase.share(job, model);
                if (loading.getAndSet(false)) SharedBase.LOADING.release();
            }).build();
            FineTune.Result r = fineTune.runWorker(group, () -> {
                group.sum(new double[1]);                      // every worker has loaded and validated the run
                if (progress != null) progress.ready();
            });
            if (remote != null && rank == 0) remote.publishResult(RemoteOutput.STAGING);
            return new WorkerResult(rank, r.steps(), r.trainSeconds(), new HashMap<>(r.lastEval()), null);
        } catch (TrainingDivergedException e) {
            return new WorkerResult(rank, 0, 0, new HashMap<>(), e.getMessage());   // every worker diverged alike
        } finally {
            if (loading.getAndSet(false)) SharedBase.LOADING.release();
        }
    }

    private static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
