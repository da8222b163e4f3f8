package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.model.CausalLm;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import dev.lora4j.train.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j bench train}: the workload of shared/bench/torch_reference.py — a decoder with random
 * weights (GPT-2 init: N(0, 0.02), LayerNorm 1/0), LoRA on the targets or full training, AdamW lr 2e-4,
 * random token batches — timed per step after warm-up, printed as one JSON line with the same fields.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time training steps on random weights and tokens; prints one JSON line (fields as torch_reference.py).")
final class BenchTrainCommand implements Callable<Integer> {
    /** name: n_layer, d_model, n_head, d_ff, vocab (GPT-2 shapes; torch_reference.py's PRESETS). */
    private static final Map<String, int[]> PRESETS = Map.of(
            "gpt2-small", new int[] {12, 768, 12, 3072, 50257},
            "gpt2-tiny", new int[] {2, 128, 4, 512, 1024});

    @Option(names = "--preset", defaultValue = "gpt2-small", description = "gpt2-small or gpt2-tiny (default: ${DEFAULT-VALUE}).")
    String preset;
    @Option(names = "--mode", defaultValue = "lora", description = "lora or full (default: ${DEFAULT-VALUE}).")
    String mode;
    @Option(names = "--batch", defaultValue = "4")
    int batch;
    @Option(names = "--seq", defaultValue = "128")
    int seq;
    @Option(names = "--rank", defaultValue = "8")
    int rank;
    @Option(names = "--alpha", defaultValue = "16")
    double alpha;
    @Option(names = "--targets", split = ",", description = "Default: c_attn.")
    List<String> targets;
    @Option(names = "--steps", defaultValue = "6")
    int steps;
    @Option(names = "--warmup", defaultValue = "2")
    int warmup;
    @Option(names = "--threads", defaultValue = "0", description = "Informational: set threads with LORA4J_JAVA_OPTS=-Dlora4j.threads=N.")
    int threads;
    @Option(names = "--json", description = "Print only the JSON line (the default output is the same line).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        int[] p = PRESETS.get(preset);
        if (p == null) throw new Lora4jException("--preset '" + preset + "' is not one of " + PRESETS.keySet());
        if (!mode.equals("lora") && !mode.equals("full")) throw new Lora4jException("--mode must be lora or full, got '" + mode + "'");
        if (threads != 0 && threads != Gemm.threads()) {
            throw new Lora4jException("--threads " + threads + " but lora4j runs " + Gemm.threads() + " (set LORA4J_JAVA_OPTS=-Dlora4j.threads=" + threads + ")");
        }
        Gpt2Model model = new Gpt2Model(new Gpt2Config(p[4], Math.max(1024, seq), p[1], p[0], p[2], p[3], 1e-5f, 0f, 0f, 0f));
        randomInit(model, 0);
        long total = model.parameterCount();
        List<String> t = targets != null ? targets : List.of("c_attn");
        if (mode.equals("lora")) {
            LoraInjector.apply(model, LoraConfig.defaults("gpt2").withR(rank).withAlpha(alpha).withTargets(new ModuleSpec.Names(t)), 0);
        } else {
            model.namedParameters().values().forEach(x -> x.requiresGrad(true));
        }
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        model.namedParameters().forEach((n, x) -> {
            if (x.requiresGrad()) trainable.put(n, x);
        });
        AdamW adamw = new AdamW(trainable, 0.9f, 0.999f, 1e-8f, 0.01f);
        SplittableRandom rnd = new SplittableRandom(1);
        List<Double> times = new ArrayList<>(), losses = new ArrayList<>();
        try (Workspace ws = Workspace.open()) {
        for (int step = 0; step < warmup + steps; step++) {
            int[] ids = new int[batch * seq], targetsIds = new int[batch * seq];
            for (int b = 0; b < batch; b++) {
                int[] row = rnd.ints(seq + 1, 0, p[4]).toArray();
                System.arraycopy(row, 0, ids, b * seq, seq);
                System.arraycopy(row, 1, targetsIds, b * seq, seq);
            }
            long t0 = System.nanoTime();
            ws.reset();
            adamw.zeroGrad();
            Tape tape = Tape.create();
            Tensor loss = model.loss(tape, ids, batch, seq, targetsIds);    // as the trainer: fused head, recycled buffers
            tape.backward(loss);
            adamw.step(2e-4f);
            double dt = (System.nanoTime() - t0) / 1e9;
            losses.add((double) loss.data()[0]);
            if (step >= warmup) times.add(dt);
        }
        }
        double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("impl", "lora4j-" + KernelProvider.get().name());
        o.put("preset", preset);
        o.put("mode", mode);
        o.put("batch", batch);
        o.put("seq", seq);
        o.put("rank", mode.equals("lora") ? rank : null);
        o.put("targets", mode.equals("lora") ? t : null);
        o.put("threads", Gemm.threads());
        o.put("params_total", total);
        o.put("params_trainable", trainable.values().stream().mapToLong(Tensor::size).sum());
        o.put("step_s_median", round(median, 4));
        o.put("step_s_min", round(sorted[0], 4));
        o.put("step_s_max", round(sorted[sorted.length - 1], 4));
        o.put("tokens_per_s", round(batch * seq / median, 1));
        o.put("peak_rss_mb", round(peakRssMb(), 1));
        o.put("first_loss", round(losses.get(0), 4));
        o.put("last_loss", round(losses.get(losses.size() - 1), 4));
        o.put("jvm_flags", String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()));
        spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(o));
        return 0;
    }

    /** GPT-2's init, as the reference: matrices and embeddings N(0, 0.02), LayerNorm weight 1, biases 0. */
    static void randomInit(Gpt2Model model, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        model.namedParameters().forEach((name, t) -> {
            float[] d = t.data();
            if (t.shape().rank() == 2) {
                for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * 0.02);
            } else if (name.contains("ln_") && name.endsWith(".weight")) {
                Arrays.fill(d, 1f);
            }
        });
    }

    /** Peak resident set of the whole process as the OS counts it (VmHWM), in MB. */
    static double peakRssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
        throw new Lora4jException("/proc/self/status has no VmHWM line");
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
