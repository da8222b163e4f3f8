package dev.lora4j.spark;

import dev.lora4j.cli.TrainCommand;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingDivergedException;
import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.apache.spark.BarrierTaskContext;

/**
 * One barrier task: one worker of a data-parallel run. Rank 0 listens and shares its address with one
 * {@code allGather}; the others connect to it ({@link SocketAllReduce}). Each builds the run from the train command's
 * flags, loads the base (shared by the workers of its JVM, {@link SharedBase}) and the data, and trains its shard of
 * every micro-batch ({@link FineTune#runWorker}); rank 0 reports to the driver and writes the run's files. A restarted
 * stage continues from the latest checkpoint.
 */
record TrainTask(List<String> trainArgs, int worldSize, long job, String driverHost, int driverPort, int timeoutSeconds) implements Serializable {
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
                return train(group, progress, attempt);
            }
        }
    }

    private WorkerResult train(SocketAllReduce group, ProgressClient progress, int attempt) {
        int rank = group.rank();
        FineTune.Listener report = progress != null ? progress : new FineTune.Listener() {};
        FineTune.Listener listener = new FineTune.Listener() {
            @Override public void onPlan(FineTune.Plan p) { report.onPlan(p); }
            @Override public void onStart(FineTune.Start s) { report.onStart(s); }
            @Override public void onResume(int step, List<String> overridden) { report.onResume(step, overridden); }
            @Override public void onEval(int step, java.util.Map<String, Double> m) { report.onEval(step, m); }
            @Override public void onStep(Trainer.StepMetrics m) {
                report.onStep(m);
                stepHook.after(rank, attempt, m.step());
            }
        };
        AtomicBoolean loading = new AtomicBoolean(true);
        SharedBase.LOADING.acquireUninterruptibly();
        try {
            FineTune fineTune = TrainCommand.fineTune(trainArgs).listener(listener).preparedModel(model -> {
                SharedBase.share(job, model);
                if (loading.getAndSet(false)) SharedBase.LOADING.release();
            }).build();
            FineTune.Result r = fineTune.runWorker(group, () -> {
                group.sum(new double[1]);                      // every worker has loaded and validated the run
                if (progress != null) progress.ready();
            });
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
