package dev.lora4j.cli.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.HfConfig;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.model.ModelFamily;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.EncoderBatch;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Model;
import dev.lora4j.nn.RandomInit;
import dev.lora4j.tensor.CompactFormat;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import dev.lora4j.train.AdamW;
import dev.lora4j.train.ProcessMemory;
import dev.lora4j.train.SequenceClassificationTask;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j bench train}: the workload of shared/bench/torch_reference.py — a decoder with random
 * weights (GPT-2 init: matrices and embeddings N(0, 0.02), norm weights 1, biases 0; tied head), LoRA on the
 * targets or full training, AdamW lr 2e-4, random token batches — timed per step after warm-up, printed as
 * one JSON line with the same fields. GPT-2 presets build a GPT-2, Llama presets a Llama (RMSNorm eps 1e-6, rope
 * theta 10000, no biases, tied head), as the reference's Decoder. The encoder preset ({@code minilm-l6}) builds
 * all-MiniLM-L6-v2's shape as a BertForSequenceClassification with 2 labels, trained as the quick start trains it
 * (LoRA on query/value, pooler and classifier trained whole) on random tokens and labels, no dropout: the workload of
 * tools/bench/torch_encoder_reference.py.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time training steps on random weights and tokens; prints one JSON line (fields as torch_reference.py).")
public final class BenchTrainCommand implements Callable<Integer> {
    /** One of torch_reference.py's PRESETS: arch (a model_type), n_layer, d_model, n_head, n_kv_head, d_ff, vocab. */
    record Preset(String name, String arch, int layers, int dModel, int heads, int kvHeads, int dFf, int vocab) {
        /** PEFT's default targets, as the reference picks them: c_attn (gpt2) or q_proj, v_proj (llama). */
        List<String> defaultTargets() {
            return ModelFamily.of(arch, "preset " + name).defaultLoraTargets();
        }

        /**
         * Model FLOPs of one training token at sequence length {@code seq} (PaLM's accounting, recomputation not counted):
         * the forward is 2·N + 4·L·T·C (N the weights of the linear layers and the head, attention's q·kᵀ and p·v counted
         * in full); full training adds twice that, LoRA only the input gradients, 2·N + 8·L·T·C (a frozen weight gets no
         * gradient; LoRA's own products are below 1 % and not counted).
         */
        double flopsPerToken(int seq, boolean full) {
            long c = dModel, hd = dModel / heads;
            long perLayer = switch (arch) {
                case "llama" -> 2 * c * c + 2 * c * kvHeads * hd + 3 * c * dFf;   // q, o; k, v; gate, up, down
                default -> 4 * c * c + 2 * c * dFf;                                // q, k, v, o (or c_attn, c_proj); two FFN matrices
            };
            long n = layers * perLayer + (arch.equals("bert") ? c * c + 2 * c : (long) vocab * c);   // pooler + classifier, or the head
            double attention = 4.0 * layers * seq * c;
            double forward = 2.0 * n + attention;
            return full ? 3 * forward : forward + 2.0 * n + 2 * attention;
        }

        /** The config.json of the reference's Decoder (or encoder) for this preset with a context of {@code ctx} positions. */
        HfConfig config(int ctx) {
            if (arch.equals("bert")) {
                return HfConfig.parse(String.format(Locale.ROOT, """
                        {"model_type": "bert", "vocab_size": %d, "hidden_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                         "intermediate_size": %d, "hidden_act": "gelu", "max_position_embeddings": %d, "type_vocab_size": 2,
                         "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                         "num_labels": 2}""", vocab, dModel, layers, heads, dFf, Math.max(512, ctx)), "preset " + name);
            }
            return HfConfig.parse(String.format(Locale.ROOT, """
                    {"model_type": "%s", "vocab_size": %d, "n_positions": %d, "n_embd": %d, "n_layer": %d, "n_head": %d, "n_inner": %d,
                     "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
                     "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                     "num_key_value_heads": %d, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": %d,
                     "tie_word_embeddings": true, "attention_bias": false, "mlp_bias": false, "hidden_act": "silu"}""",
                    arch, vocab, ctx, dModel, layers, heads, dFf, dModel, dFf, layers, heads, kvHeads, ctx), "preset " + name);
        }
    }

    static final Map<String, Preset> PRESETS = presets(
            new Preset("gpt2-small", "gpt2", 12, 768, 12, 12, 3072, 50257),
            new Preset("gpt2-tiny", "gpt2", 2, 128, 4, 4, 512, 1024),
            new Preset("llama-160m", "llama", 12, 768, 12, 4, 2048, 32000),
            new Preset("llama-tiny", "llama", 2, 128, 4, 2, 352, 1024),
            new Preset("qwen2.5-0.5b", "llama", 24, 896, 14, 2, 4864, 151936),    // Qwen2.5-0.5B's shape (no q/k/v biases, as the reference)
            new Preset("llama-3.2-1b", "llama", 16, 2048, 32, 8, 8192, 128256),
            new Preset("minilm-l6", "bert", 6, 384, 12, 12, 1536, 30522));       // all-MiniLM-L6-v2's shape, 2 labels

    private static Map<String, Preset> presets(Preset... ps) {
        Map<String, Preset> m = new LinkedHashMap<>();
        for (Preset p : ps) m.put(p.name(), p);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The preset named {@code name}, or a {@link Lora4jException} listing them. */
    static Preset preset(String name) {
        Preset p = PRESETS.get(name);
        if (p == null) throw new Lora4jException("--preset '" + name + "' is not one of " + PRESETS.keySet());
        return p;
    }

    /**
     * The reference's Decoder for {@code p} with a context of {@code ctx} positions, its family's fresh init (GPT-2's,
     * for both: every matrix N(0, 0.02)): GPT-2 (LayerNorm eps 1e-5, no dropout) or Llama (RMSNorm eps 1e-6, rope theta
     * 10000, no biases, SwiGLU, lm_head tied to the embedding).
     */
    static CausalLm build(Preset p, int ctx, long seed) {
        return build(p, ctx, seed, null);
    }

    /** The same with its matrices frozen and held in {@code frozen} as they are drawn (a bf16 base never whole in float32). */
    static CausalLm build(Preset p, int ctx, long seed, CompactFormat frozen) {
        HfConfig config = p.config(ctx);
        return ModelFamily.of(config).randomCausalLm(config, seed, frozen);
    }

    /** LoRA r, alpha on {@code targets} ("all-linear": PEFT's shorthand) with the family's PEFT defaults (fan_in_fan_out for GPT-2's Conv1D). */
    static LoraConfig loraConfig(Preset p, int rank, double alpha, List<String> targets) {
        ModuleSpec spec = targets.equals(List.of(ModuleSpec.ALL_LINEAR)) ? new ModuleSpec.AllLinear() : new ModuleSpec.Names(targets);
        return LoraConfig.defaults(p.arch()).withR(rank).withAlpha(alpha).withTargets(spec);
    }

    @Option(names = "--preset", defaultValue = "gpt2-small", description = "gpt2-small, gpt2-tiny, llama-160m, llama-tiny, qwen2.5-0.5b, llama-3.2-1b or minilm-l6 (default: ${DEFAULT-VALUE}).")
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
    @Option(names = "--targets", split = ",", description = "Default: c_attn (GPT-2), q_proj,v_proj (Llama), query,value (BERT); all-linear: every linear layer but the head.")
    List<String> targets;
    @Option(names = "--steps", defaultValue = "6")
    int steps;
    @Option(names = "--warmup", defaultValue = "2")
    int warmup;
    @Option(names = "--threads", defaultValue = "0", description = "Informational: set threads with LORA4J_JAVA_OPTS=-Dlora4j.threads=N.")
    int threads;
    @Option(names = "--base-dtype", defaultValue = "f32", description = "f32 or bf16: frozen base matrices and embeddings as bfloat16 (LoRA mode).")
    String baseDtype;
    @Option(names = "--gradient-checkpointing", description = "Recompute each block in the backward instead of keeping its activations.")
    boolean gradientCheckpointing;
    @Option(names = "--json", description = "Print only the JSON line (the default output is the same line).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Preset p = preset(preset);
        if (!mode.equals("lora") && !mode.equals("full")) throw new Lora4jException("--mode must be lora or full, got '" + mode + "'");
        if (threads != 0 && threads != Gemm.threads()) {
            throw new Lora4jException("--threads " + threads + " but lora4j runs " + Gemm.threads() + " (set LORA4J_JAVA_OPTS=-Dlora4j.threads=" + threads + ")");
        }
        List<String> t = targets != null ? targets : p.defaultTargets();
        boolean bf16 = switch (baseDtype) {
            case "f32" -> false;
            case "bf16" -> true;
            default -> throw new Lora4jException("--base-dtype must be f32 or bf16, got '" + baseDtype + "'");
        };
        if (bf16 && !mode.equals("lora")) throw new Lora4jException("--base-dtype bf16 is for --mode lora (full training freezes nothing)");
        Workload w = p.arch().equals("bert") ? encoder(p, t) : decoder(p, t, bf16);
        long total = w.baseParameters();
        if (mode.equals("full")) w.model().module().namedParameters().values().forEach(x -> x.requiresGrad(true));
        if (bf16) {
            w.model().module().frozenMatricesToBf16();
            System.gc();                                       // drop the float32 arrays before the timed steps
        }
        w.model().module().gradientCheckpointing(gradientCheckpointing);
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        w.model().module().namedParameters().forEach((n, x) -> {
            if (x.requiresGrad()) trainable.put(n, x);
        });
        AdamW adamw = new AdamW(trainable, 0.9f, 0.999f, 1e-8f, 0.01f);
        SplittableRandom rnd = new SplittableRandom(1);
        List<Double> times = new ArrayList<>(), losses = new ArrayList<>();
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long workspaceBytes, cpuTimedNs = 0, wallTimedNs = 0;
        try (Workspace ws = Workspace.open()) {
            for (int step = 0; step < warmup + steps; step++) {
                Step s = w.draw().apply(rnd);
                long t0 = System.nanoTime(), cpu0 = os.getProcessCpuTime();
                ws.reset();
                adamw.zeroGrad();
                Tape tape = Tape.create();
                Tensor loss = s.loss(tape);
                tape.backward(loss);
                adamw.step(2e-4f);
                long wall = System.nanoTime() - t0, cpu = os.getProcessCpuTime() - cpu0;
                losses.add((double) loss.data()[0]);
                if (step >= warmup) {
                    times.add(wall / 1e9);
                    cpuTimedNs += cpu;
                    wallTimedNs += wall;
                }
            }
            workspaceBytes = Workspace.allocatedBytes();                // a step's activations and their gradients
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
        o.put("base_dtype", baseDtype);
        o.put("gradient_checkpointing", gradientCheckpointing);
        o.put("threads", Gemm.threads());
        o.put("params_total", total);
        o.put("params_trainable", trainable.values().stream().mapToLong(Tensor::size).sum());
        o.put("step_s_median", round(median, 4));
        o.put("step_s_min", round(sorted[0], 4));
        o.put("step_s_max", round(sorted[sorted.length - 1], 4));
        o.put("tokens_per_s", round(batch * seq / median, 1));
        o.put("model_gflops_per_s", round(p.flopsPerToken(seq, mode.equals("full")) * batch * seq / median / 1e9, 1));
        o.put("cores_busy", round((double) cpuTimedNs / wallTimedNs, 2));   // the JVM's CPU time ÷ wall time over the timed steps
        o.put("peak_rss_mb", round(peakRssMb(), 1));
        o.put("workspace_mb", round(workspaceBytes / 1e6, 1));
        o.put("first_loss", round(losses.get(0), 4));
        o.put("last_loss", round(losses.get(losses.size() - 1), 4));
        o.put("jvm_flags", String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()));
        spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(o));
        return 0;
    }

    /** A model, its parameter count before LoRA, and how to draw one step's random inputs. */
    private record Workload(Model model, long baseParameters, Function<SplittableRandom, Step> draw) {}

    /** One training step's inputs, bound: the loss on a tape. */
    private interface Step {
        Tensor loss(Tape tape);
    }

    /** The decoder: batch × seq random tokens, each predicting the next (fused head and loss, as the trainer). */
    private Workload decoder(Preset p, List<String> t, boolean bf16) {
        CausalLm model = build(p, Math.max(1024, seq), 0, bf16 ? CompactFormat.BF16 : null);
        long params = model.module().parameterCount();
        if (mode.equals("lora")) LoraInjector.apply(model, loraConfig(p, rank, alpha, t), 0);
        return new Workload(model, params, rnd -> {
            int[] ids = new int[batch * seq], next = new int[batch * seq];
            for (int b = 0; b < batch; b++) {
                int[] row = rnd.ints(seq + 1, 0, p.vocab()).toArray();
                System.arraycopy(row, 0, ids, b * seq, seq);
                System.arraycopy(row, 1, next, b * seq, seq);
            }
            return tape -> model.loss(tape, ids, batch, seq, next);
        });
    }

    /**
     * The encoder: a BertForSequenceClassification (pooler, 2 labels) with random weights; LoRA as the quick start
     * configures it for SEQ_CLS (pooler and classifier trained whole); batch × seq random tokens, no padding, random labels.
     */
    private Workload encoder(Preset p, List<String> t) {
        BertForSequenceClassification model = new BertForSequenceClassification(BertConfig.from(p.config(seq)));
        RandomInit.apply(model, 0);
        model.train(true);
        long params = model.module().parameterCount();
        if (mode.equals("lora")) {
            LoraConfig c = SequenceClassificationTask.loraConfig("bert", List.of("bert.pooler.dense.weight")).withR(rank).withAlpha(alpha)
                    .withTargets(t.equals(List.of(ModuleSpec.ALL_LINEAR)) ? new ModuleSpec.AllLinear() : new ModuleSpec.Names(t));
            LoraInjector.apply(model, c, 0);
        }
        int labels = model.labels().size();
        return new Workload(model, params, rnd -> {
            int[] ids = rnd.ints(batch * seq, 0, p.vocab()).toArray(), mask = new int[batch * seq], y = rnd.ints(batch, 0, labels).toArray();
            Arrays.fill(mask, 1);
            EncoderBatch eb = new EncoderBatch(ids, new int[batch * seq], mask, batch, seq);
            return tape -> CrossEntropy.apply(tape, model.forward(tape, eb), y);    // logits (B, 2)
        });
    }

    /** Peak resident set of the whole process as the OS counts it (VmHWM), in MB. */
    static double peakRssMb() {
        return ProcessMemory.peakRssMb().orElseThrow(() -> new Lora4jException("/proc/self/status has no VmHWM line (peak RSS is read on Linux only)"));
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
