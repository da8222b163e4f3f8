package dev.lora4j.train;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.Window;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The training loop over a {@link TrainingTask}: shuffled examples (a fixed permutation per epoch from the seed), micro-batches with
 * gradient accumulation, global-norm clipping, AdamW on the trainable tensors only, a learning-rate
 * schedule, periodic evaluation, checkpoints that resume exactly (data order and dropout masks are
 * functions of the seed and the step) and only ever from an update whose loss was seen finite, and a stop with a
 * clear message on a non-finite loss or gradient. Data-parallel: one trainer per worker of a {@link GradientAllReduce},
 * each computing its shard of every micro-batch; the summed gradients make every worker take the same step, and only
 * rank 0 writes checkpoints.
 *
 * <p>Each micro-batch's gradient is computed alone (from zero) and then added to the step's sum, as PyTorch's
 * AccumulateGrad adds each backward's result, and as the workers' all-reduce adds their shards' gradients: so two
 * workers with batch b and one process with batch b and accumulation 2 add the same two gradients and take the same
 * step, bit for bit, whatever order a kernel sums rows in. (Accumulating inside the kernels instead would chain the
 * second micro-batch's rows onto the first's sum, an order that depends on the kernel's blocking.) With accumulation
 * or several workers, the sum needs one more array of the trainable parameters' size.
 */
public final class Trainer {
    /** What the trainer reports after each optimizer step and each evaluation. */
    public interface Listener {
        void onStep(StepMetrics m);

        default void onEval(int step, Map<String, Double> metrics) {}

        /** A resumed run continues after {@code step}; {@code overridden}: deliberately changed settings ("lr: 0.1 → 0.01"). */
        default void onResume(int step, List<String> overridden) {}
    }

    /** One optimizer step: mean loss over its micro-batches, the lr used, the gradient norm before clipping. */
    public record StepMetrics(int step, int totalSteps, double loss, float lr, double gradNorm, long tokens,
                              double tokensPerSecond, double elapsedSeconds) {}

    /**
     * How a run starts and what its checkpoints hold: {@code resume} continues from the latest checkpoint (from the
     * start when there is none yet); {@code overrides} names the {@link RunSettings#OVERRIDABLE} settings that may differ
     * from the checkpoint's; {@code settings} adds what the caller knows changes the result (model, data, method,
     * LoRA configuration) to the trainer's own hyper-parameters; {@code exporter} writes the usable result (adapter or
     * model) into each checkpoint.
     */
    public record Options(boolean resume, Set<String> overrides, RunSettings settings, Consumer<Path> exporter) {
        public Options {
            overrides = Set.copyOf(overrides);
            RunSettings.checkOverridable(overrides);
            if (!resume && !overrides.isEmpty()) throw new Lora4jException("settings can only be overridden when resuming");
        }

        /** A fresh run with no extra settings and nothing exported into the checkpoints. */
        public static Options fresh() {
            return new Options(false, Set.of(), RunSettings.empty(), dir -> {});
        }
    }

    private final TrainingTask task;
    private final TrainConfig cfg;
    private final GradientAllReduce workers;
    private final Map<String, Tensor> trainable = new LinkedHashMap<>();
    private final AdamW adamw;
    private float[] gradients;  // with accumulation or several workers: the step's gradient sum, flattened
    private int[] order;        // the permutation of the epoch last used, and its seed
    private long orderSeed;

    /** Next-token training of a causal LM on windows, evaluated on {@code eval} (may be empty). */
    public Trainer(CausalLm model, List<Window> train, List<Window> eval, TrainConfig cfg) {
        this(new CausalLmTask(model, train, eval, cfg.batchSize()), cfg);
    }

    public Trainer(TrainingTask task, TrainConfig cfg) {
        this(task, cfg, GradientAllReduce.SINGLE);
    }

    /**
     * One worker of a data-parallel run. {@code cfg}'s batch size is the whole micro-batch, W·b for W workers: the
     * worker of rank r computes the loss of the r-th b of its examples, so W workers see exactly the examples, in the
     * same order, that one process with batch W·b sees. Each worker's backward is weighted by its share of the scored
     * tokens, so the summed gradient is the gradient of the whole micro-batch's mean loss.
     */
    public Trainer(TrainingTask task, TrainConfig cfg, GradientAllReduce workers) {
        if (task.size() == 0) throw new Lora4jException("no training examples (for text: each document needs at least two tokens)");
        int W = workers.worldSize();
        if (W < 1 || workers.rank() < 0 || workers.rank() >= W) throw new IllegalArgumentException("rank " + workers.rank() + " of " + W + " workers");
        if (cfg.batchSize() % W != 0) throw new Lora4jException("batch_size " + cfg.batchSize() + " is not a multiple of the " + W + " workers");
        this.task = task;
        this.cfg = cfg;
        this.workers = workers;
        task.module().namedParameters().forEach((name, p) -> {
            if (p.requiresGrad()) trainable.put(name, p);
        });
        if (trainable.isEmpty()) throw new Lora4jException("nothing to train: no parameter requires a gradient");
        this.adamw = cfg.loraplusLrRatio() > 0
                ? new AdamW(trainable, LoraPlus.groups(task.module(), trainable, cfg.loraplusLrRatio(), cfg.weightDecay()),
                        cfg.beta1(), cfg.beta2(), cfg.eps())
                : new AdamW(trainable, cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
        totalSteps();                                           // refuses a run too long to count before anything starts
    }

    public int batchesPerEpoch() {
        return Math.ceilDiv(task.size(), cfg.batchSize());
    }

    public int totalSteps() {
        if (cfg.maxSteps() > 0) return cfg.maxSteps();
        long steps = Math.ceilDiv((long) cfg.epochs() * batchesPerEpoch(), cfg.gradAccum());
        if (steps > Integer.MAX_VALUE) throw new Lora4jException(cfg.epochs() + " epochs would take " + steps + " steps, more than " + Integer.MAX_VALUE);
        return (int) steps;
    }

    /** Trains from the start, checkpointing into {@code out}, without callbacks. */
    public void run(Path out) {
        run(out, Options.fresh(), m -> {});
    }

    /**
     * Trains to the last step, checkpointing into {@code out/checkpoints} every {@code saveEvery} steps and at the end
     * (see {@link Checkpoints}). A checkpoint becomes the one to resume from only once the update it holds gave a finite
     * loss: at the next step, or, for the last one, in one extra forward pass; a non-finite loss or gradient norm stops
     * the run with a {@link TrainingDivergedException} that names the last good checkpoint.
     */
    public void run(Path out, Options options, Listener listener) {
        Checkpoints checkpoints = new Checkpoints(out);
        boolean writer = workers.rank() == 0;
        RunSettings settings = settings().plus(options.settings());
        int total = totalSteps(), step = 0, pending = 0;
        long micro = 0;
        if (options.resume()) {
            Optional<Path> latest = checkpoints.latest();
            if (latest.isPresent()) {
                Checkpoints.State s = Checkpoints.readState(latest.get(), cfg.gradAccum());
                List<String> differences = settings.differencesFrom(s.settings(), options.overrides());
                if (!differences.isEmpty()) {
                    throw new Lora4jException(latest.get() + ": the checkpoint was made with other settings than this run's: "
                            + String.join("; ", differences) + ". Resume with the same settings"
                            + (differences.stream().allMatch(d -> RunSettings.OVERRIDABLE.contains(d.substring(0, d.indexOf(':'))))
                                    ? ", or name these as deliberate changes (override)" : "") + ".");
                }
                if (s.step() > total) throw new Lora4jException(latest.get() + ": is at step " + s.step() + ", beyond this run's " + total + " steps");
                Checkpoints.restore(latest.get(), s, trainable, adamw);
                step = s.step();
                micro = s.microBatches();
                if (writer) checkpoints.promote(step);            // removes what a killed run left beside it
                listener.onResume(step, settings.overriddenFrom(s.settings(), options.overrides()));
            } else {
                listener.onResume(0, List.of());
            }
        }
        task.module().train(true);
        task.module().gradientCheckpointing(cfg.gradientCheckpointing());
        long start = System.nanoTime();
        try (Workspace ws = Workspace.open()) {
            for (; step < total; step++) {
                long t0 = System.nanoTime();
                adamw.zeroGrad();
                double loss = 0;
                long tokens = 0;
                for (int a = 0; a < cfg.gradAccum(); a++, micro++) {
                    ws.reset();                                   // the previous micro-batch's activations are dead
                    // the masks of shard `rank` of micro-batch `micro` are those of micro-batch micro·W + rank of one
                    // process with batch b: the rows it computes there
                    task.module().reseedDropout(cfg.seed() * 7_919L + micro * workers.worldSize() + workers.rank());
                    Tape tape = Tape.create();
                    if (workers.worldSize() > 1) {
                        double[] shared = sharedLoss(tape, micro, true);
                        if (!Double.isFinite(shared[0])) throw diverged(checkpoints, pending, step + 1, "the loss is " + (float) shared[0]);
                        loss += shared[0] / cfg.gradAccum();
                        tokens += (long) shared[1];
                    } else {
                        TrainingTask.Loss batchLoss = task.loss(tape, examples(micro));
                        Tensor l = batchLoss.value();
                        float value = l.data()[0];
                        if (!Float.isFinite(value)) throw diverged(checkpoints, pending, step + 1, "the loss is " + value);
                        tape.backward(l, new float[] {1f / cfg.gradAccum()});
                        loss += value / cfg.gradAccum();
                        tokens += batchLoss.scored();
                    }
                    if (cfg.gradAccum() > 1) addGradients(a == 0);
                }
                if (workers.worldSize() > 1) {
                    if (cfg.gradAccum() == 1) addGradients(true);
                    workers.sum(gradients);
                }
                if (cfg.gradAccum() > 1 || workers.worldSize() > 1) restoreGradients();
                double norm = clipGradients();
                if (!Double.isFinite(norm)) throw diverged(checkpoints, pending, step + 1, "the gradient norm is " + norm);
                if (pending > 0) {                                // the update it holds just gave finite losses
                    if (writer) checkpoints.promote(pending);
                    pending = 0;
                }
                float lr = cfg.schedule().lr(cfg.lr(), step, cfg.warmup(), total);
                adamw.step(lr);
                double seconds = (System.nanoTime() - t0) / 1e9;
                listener.onStep(new StepMetrics(step + 1, total, loss, lr, norm, tokens, tokens / seconds, (System.nanoTime() - start) / 1e9));
                boolean last = step + 1 == total;
                if (last || (cfg.evalEvery() > 0 && (step + 1) % cfg.evalEvery() == 0)) {
                    ws.release();                                 // the step's activations are dead: the evaluation reuses them
                    Map<String, Double> metrics = task.evaluate();
                    if (!metrics.isEmpty()) listener.onEval(step + 1, metrics);
                    task.module().train(true);
                }
                if (last || (cfg.saveEvery() > 0 && (step + 1) % cfg.saveEvery() == 0)) {
                    if (writer) checkpoints.save(new Checkpoints.State(step + 1, micro, adamw.stepCount(), settings), trainable, adamw, options.exporter());
                    pending = step + 1;
                }
            }
            if (pending > 0) {
                ws.reset();
                float value = workers.worldSize() > 1 ? (float) sharedLoss(Tape.noGrad(), micro, false)[0]
                        : task.loss(Tape.noGrad(), examples(micro)).value().data()[0];
                if (!Float.isFinite(value)) throw diverged(checkpoints, pending, pending, "after the last update the loss is " + value);
                if (writer) checkpoints.promote(pending);
            }
        }
        task.module().train(false);
    }

    private TrainingDivergedException diverged(Checkpoints checkpoints, int pending, int step, String what) {
        if (pending > 0 && workers.rank() == 0) checkpoints.discard(pending);
        task.module().train(false);
        return new TrainingDivergedException(step, what, checkpoints.latest());
    }

    /** The settings of this trainer that a resume must share with the run it continues (or name as overridden). */
    private RunSettings settings() {
        RunSettings s = RunSettings.empty().with("seed", cfg.seed()).with("batch_size", cfg.batchSize()).with("grad_accum", cfg.gradAccum())
                .with("seq_len", cfg.seqLen()).with("examples", task.size()).with("lr", cfg.lr()).with("schedule", cfg.schedule())
                .with("warmup", cfg.warmup()).with("weight_decay", cfg.weightDecay()).with("max_grad_norm", cfg.maxGradNorm())
                .with("epochs", cfg.maxSteps() > 0 ? "-" : Integer.toString(cfg.epochs())).with("max_steps", cfg.maxSteps())
                .with("group_by_length", cfg.groupByLength());
        return cfg.loraplusLrRatio() > 0 ? s.with("loraplus_lr_ratio", cfg.loraplusLrRatio()) : s;   // absent: runs from before LoRA+ resume
    }

    /**
     * With several workers: the loss of micro-batch {@code micro} on this worker's shard of it (the rank-th
     * batchSize / W of its examples; none at the end of an epoch when the batch is short) and, when {@code backward},
     * its gradient weighted by the shard's share of the scored tokens. Returns the whole micro-batch's mean loss and
     * scored count, summed over the workers in one all-reduce, so every worker takes the same decisions.
     */
    private double[] sharedLoss(Tape tape, long micro, boolean backward) {
        List<Integer> all = examples(micro);
        int b = cfg.batchSize() / workers.worldSize(), from = Math.min(all.size(), workers.rank() * b), to = Math.min(all.size(), from + b);
        TrainingTask.Loss mine = from == to ? null : task.loss(tape, all.subList(from, to));
        long scored = mine == null ? 0 : mine.scored();
        double[] sums = {scored, scored == 0 ? 0 : (double) mine.value().data()[0] * scored};
        workers.sum(sums);
        double mean = sums[1] / sums[0];
        if (backward && scored > 0 && Double.isFinite(mean)) tape.backward(mine.value(), new float[] {(float) (scored / sums[0] / cfg.gradAccum())});
        return new double[] {mean, sums[0]};
    }

    /**
     * Adds the micro-batch's gradients (computed from zero) into the step's flattened sum ({@code first}: copies them
     * there), then zeroes them for the next micro-batch.
     */
    private void addGradients(boolean first) {
        if (gradients == null) {
            long n = 0;
            for (Tensor p : trainable.values()) n += p.size();
            if (n > Integer.MAX_VALUE - 8) throw new Lora4jException(n + " trainable parameters are too many to sum in one array");
            gradients = new float[(int) n];
        }
        int off = 0;
        for (Tensor p : trainable.values()) {
            float[] g = p.grad();
            if (first) System.arraycopy(g, 0, gradients, off, g.length);
            else for (int i = 0; i < g.length; i++) gradients[off + i] += g[i];
            off += g.length;
        }
        adamw.zeroGrad();
    }

    /** Puts the step's summed gradients back into the trainable tensors, for clipping and the optimizer. */
    private void restoreGradients() {
        int off = 0;
        for (Tensor p : trainable.values()) {
            System.arraycopy(gradients, off, p.grad(), 0, p.size());
            off += p.size();
        }
    }

    /** The examples of micro-batch number {@code micro}: epoch = micro / batchesPerEpoch, in that epoch's order. */
    private List<Integer> examples(long micro) {
        int perEpoch = batchesPerEpoch();
        int epoch = (int) (micro / perEpoch), index = (int) (micro % perEpoch);
        int[] order = permutation(task.size(), cfg.seed() + epoch);
        List<Integer> out = new ArrayList<>();
        long from = (long) index * cfg.batchSize(), to = Math.min(task.size(), from + cfg.batchSize());
        for (int i = (int) from; i < to; i++) out.add(order[i]);
        return out;
    }

    private int[] permutation(int n, long seed) {
        if (order != null && orderSeed == seed) return order;
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        order = cfg.groupByLength() ? LengthGroupedOrder.apply(p, cfg.batchSize(), task::length) : p;
        orderSeed = seed;
        return order;
    }

    /** Global L2 norm of the gradients; scales them to {@code maxGradNorm} when above (torch's clip_grad_norm_). */
    private double clipGradients() {
        double sq = 0;
        for (Tensor p : trainable.values()) {
            float[] g = p.gradOrNull();
            if (g == null) continue;
            for (float x : g) sq += (double) x * x;
        }
        double norm = Math.sqrt(sq);
        if (cfg.maxGradNorm() > 0 && norm > cfg.maxGradNorm()) {
            float coef = (float) (cfg.maxGradNorm() / (norm + 1e-6));
            for (Tensor p : trainable.values()) {
                float[] g = p.gradOrNull();
                if (g == null) continue;
                for (int i = 0; i < g.length; i++) g[i] *= coef;
            }
        }
        return norm;
    }

    public Map<String, Tensor> trainable() {
        return trainable;
    }
}
