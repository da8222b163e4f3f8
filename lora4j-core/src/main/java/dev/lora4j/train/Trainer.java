package dev.lora4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.Window;
import dev.lora4j.model.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The training loop over a {@link TrainingTask}: shuffled examples (a fixed permutation per epoch from the seed), micro-batches with
 * gradient accumulation, global-norm clipping, AdamW on the trainable tensors only, a learning-rate
 * schedule, periodic evaluation, checkpoints that resume exactly (data order and dropout masks are
 * functions of the seed and the step), and a stop with a clear message on a non-finite loss.
 */
public final class Trainer {
    /** What the trainer reports after each optimizer step and each evaluation. */
    public interface Listener {
        void onStep(StepMetrics m);

        default void onEval(int step, Map<String, Double> metrics) {}
    }

    /** One optimizer step: mean loss over its micro-batches, the lr used, the gradient norm before clipping. */
    public record StepMetrics(int step, int totalSteps, double loss, float lr, double gradNorm, long tokens,
                              double tokensPerSecond, double elapsedSeconds) {}

    private final TrainingTask task;
    private final TrainConfig cfg;
    private final Map<String, Tensor> trainable = new LinkedHashMap<>();
    private final AdamW adamw;
    private int[] order;        // the permutation of the epoch last used, and its seed
    private long orderSeed;

    /** Next-token training of a causal LM on windows, evaluated on {@code eval} (may be empty). */
    public Trainer(CausalLm model, List<Window> train, List<Window> eval, TrainConfig cfg) {
        this(new CausalLmTask(model, train, eval, cfg.batchSize()), cfg);
    }

    public Trainer(TrainingTask task, TrainConfig cfg) {
        if (task.size() == 0) throw new Lora4jException("no training examples (for text: each document needs at least two tokens)");
        this.task = task;
        this.cfg = cfg;
        task.module().namedParameters().forEach((name, p) -> {
            if (p.requiresGrad()) trainable.put(name, p);
        });
        if (trainable.isEmpty()) throw new Lora4jException("nothing to train: no parameter requires a gradient");
        this.adamw = new AdamW(trainable, cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
    }

    public int batchesPerEpoch() {
        return (task.size() + cfg.batchSize() - 1) / cfg.batchSize();
    }

    public int totalSteps() {
        if (cfg.maxSteps() > 0) return cfg.maxSteps();
        return (int) Math.ceil((double) cfg.epochs() * batchesPerEpoch() / cfg.gradAccum());
    }

    /** Trains from the start, checkpointing into {@code out}, without callbacks. */
    public void run(Path out) {
        run(out, false, dir -> {}, m -> {});
    }

    /**
     * Trains to the last step, checkpointing into {@code out} every {@code saveEvery} steps and at the end
     * ({@code exporter} writes the usable result into each checkpoint). With {@code resume}, continues from
     * the checkpoint in {@code out}.
     */
    public void run(Path out, boolean resume, Consumer<Path> exporter, Listener listener) {
        int total = totalSteps(), step = 0;
        long micro = 0;
        if (resume) {
            Checkpoint.State s = Checkpoint.load(Checkpoint.find(out), trainable, adamw);
            if (!s.settings().toString().equals(settings().toString())) {
                throw new Lora4jException(Checkpoint.find(out) + ": the checkpoint was made with other settings "
                        + s.settings() + " than this run " + settings() + "; resume with the same flags");
            }
            step = s.step();
            micro = s.microBatches();
        }
        task.module().train(true);
        long start = System.nanoTime();
        try (Workspace ws = Workspace.open()) {
        for (; step < total; step++) {
            long t0 = System.nanoTime();
            adamw.zeroGrad();
            double loss = 0;
            long tokens = 0;
            for (int a = 0; a < cfg.gradAccum(); a++, micro++) {
                ws.reset();                                   // the previous micro-batch's activations are dead
                task.module().reseedDropout(cfg.seed() * 7_919L + micro);
                Tape tape = Tape.create();
                TrainingTask.Loss batchLoss = task.loss(tape, examples(micro));
                Tensor l = batchLoss.value();
                float value = l.data()[0];
                if (!Float.isFinite(value)) {
                    boolean saved = java.nio.file.Files.isDirectory(out.resolve(Checkpoint.DIR));
                    throw new Lora4jException("step " + (step + 1) + ": the loss is " + value + "; training stopped. "
                            + (saved ? "The last good checkpoint is kept in " + out.resolve(Checkpoint.DIR) + " (lower --lr or fix the data, then --resume)."
                            : "No checkpoint was written yet; lower --lr or check the data."));
                }
                tape.backward(l, new float[] {1f / cfg.gradAccum()});
                loss += value / cfg.gradAccum();
                tokens += batchLoss.scored();
            }
            double norm = clipGradients();
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
                Checkpoint.save(out, new Checkpoint.State(step + 1, micro, adamw.stepCount(), settings()), trainable, adamw, exporter);
            }
        }
        }
        task.module().train(false);
    }

    /** The settings a resume must share with the run it continues (they fix data order and masks). */
    private ObjectNode settings() {
        ObjectNode s = new ObjectMapper().createObjectNode();
        s.put("seed", cfg.seed()).put("batch_size", cfg.batchSize()).put("grad_accum", cfg.gradAccum())
                .put("seq_len", cfg.seqLen()).put("total_steps", totalSteps()).put("examples", task.size());
        return s;
    }

    /** The examples of micro-batch number {@code micro}: epoch = micro / batchesPerEpoch, in that epoch's order. */
    private List<Integer> examples(long micro) {
        int perEpoch = batchesPerEpoch();
        int epoch = (int) (micro / perEpoch), index = (int) (micro % perEpoch);
        int[] order = permutation(task.size(), cfg.seed() + epoch);
        List<Integer> out = new ArrayList<>();
        for (int i = index * cfg.batchSize(); i < Math.min(task.size(), (index + 1) * cfg.batchSize()); i++) out.add(order[i]);
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
        order = p;
        orderSeed = seed;
        return p;
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
