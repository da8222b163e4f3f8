package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.train.BaseDtype;
import dev.lora4j.train.Checkpoints;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.LrSchedule;
import dev.lora4j.train.Method;
import dev.lora4j.train.ProcessMemory;
import dev.lora4j.model.TaskType;
import dev.lora4j.train.TrainConfig;
import dev.lora4j.train.TrainingDivergedException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j train}: maps its flags onto core's {@link FineTune} pipeline and shows its progress. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a causal LM with LoRA (or every parameter with --full) and write a PEFT adapter",
                "(adapter_config.json + adapter_model.safetensors) or, with --full, a Hugging Face model into --out,",
                "with metrics.jsonl and resumable checkpoints/ beside it. --out must be new or empty (or a previous run",
                "with --resume or --overwrite); it is never an input.",
                "Data: .txt (packed windows), .jsonl with {\"text\"}, {\"prompt\", \"completion\"} (loss on the",
                "completion only) or {\"input_ids\"}."})
public final class TrainCommand implements Callable<Integer> {
    /** The flags that choose where the run happens, not what it computes: the Spark workers are not given them. */
    private static final Set<String> PLACEMENT = Set.of("--spark-master", "--workers");

    @Option(names = "--task", paramLabel = "TASK", description = {"causal-lm or seq-cls (default: seq-cls for a bert / roberta model).",
            "seq-cls: LoRA plus the classification head on labelled texts (.jsonl {\"text\", \"label\"}, or",
            ".csv / .tsv with text and label columns); writes label_map.json beside the adapter."})
    String task;
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory.")
    Path modelDir;
    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Training data (.txt or .jsonl; seq-cls: .jsonl, .csv, .tsv).")
    Path data;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;
    @Option(names = "--rank", defaultValue = "8", description = "LoRA rank r (default: ${DEFAULT-VALUE}).")
    int rank;
    @Option(names = "--alpha", description = "lora_alpha (default: 2 × rank); scale = alpha / r.")
    Double alpha;
    @Option(names = "--dropout", defaultValue = "0.0", description = "lora_dropout (default: ${DEFAULT-VALUE}).")
    double dropout;
    @Option(names = "--targets", split = ",", paramLabel = "NAME", description = {"Modules to adapt: names matched exactly or as a dotted",
            "suffix (c_attn,c_proj), or all-linear (default: the family's PEFT default)."})
    List<String> targets;
    @Option(names = "--targets-regex", paramLabel = "REGEX", description = "A regex that must match the whole module path instead of --targets.")
    String targetsRegex;
    @Option(names = "--rslora", description = "Scale by alpha / sqrt(r) (rsLoRA).")
    boolean rslora;
    @Option(names = "--use-dora", description = {"DoRA (PEFT's use_dora): a trainable magnitude per output row beside A and B,",
            "W' = m * (W + s*B*A) / ||W + s*B*A|| per row; saved as lora_magnitude_vector."})
    boolean useDora;
    @Option(names = "--init-lora-weights", paramLabel = "INIT", description = {"PEFT's init_lora_weights: true (default: A kaiming-uniform,",
            "B = 0), false, gaussian, pissa (A, B from the top-r singular triplets of each target weight, the base trained as",
            "the residual W - s*B*A) or pissa_niter_K (randomized SVD, K subspace iterations, seeded). A PiSSA run is written",
            "as PEFT converts it: a plain LoRA of rank 2r for the original base."})
    String initLoraWeights;
    @Option(names = "--full", description = "Train every parameter instead (the baseline LoRA is compared with); writes a full model.")
    boolean full;
    @Option(names = "--head-only", description = "seq-cls: train only the classification head (and a newly initialised pooler) on the "
            + "frozen encoder, without LoRA: the frozen-encoder baseline. The adapter written keeps rank-1 LoRA layers with "
            + "lora_B = 0 (no-ops) so that eval / classify --adapter load it; --rank, --alpha, --dropout, --rslora are ignored.")
    boolean headOnly;
    @Option(names = "--base-dtype", defaultValue = "f32", paramLabel = "DTYPE", description = {"f32, bf16, q8_0, q4_0 or nf4: store the frozen",
            "base matrices and embeddings as bfloat16 (half their memory) or quantized (Q8_0/Q4_0: llama.cpp's blocks of 32 per",
            "row; NF4: QLoRA's 4-bit NormalFloat, blocks of 64); LoRA and --head-only, not --full (default: ${DEFAULT-VALUE})."})
    String baseDtype;
    @Option(names = "--lr", defaultValue = "2e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    float lr;
    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the data (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many optimizer steps (overrides --epochs).")
    int maxSteps;
    @Option(names = "--batch-size", defaultValue = "8", description = "Windows per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int gradAccum;
    @Option(names = "--seq-len", paramLabel = "T", description = "Window length in tokens (default: min(n_positions, 128)).")
    Integer seqLen;
    @Option(names = "--warmup", defaultValue = "0", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;
    @Option(names = "--schedule", defaultValue = "cosine", description = "cosine, linear or constant (default: ${DEFAULT-VALUE}).")
    String schedule;
    @Option(names = "--weight-decay", defaultValue = "0.0", description = "AdamW decoupled weight decay (default: ${DEFAULT-VALUE}).")
    float weightDecay;
    @Option(names = "--loraplus-lr-ratio", defaultValue = "0", paramLabel = "R", description = {"LoRA+: lora_B (and every 1-D trained",
            "tensor) learns at R x --lr, as PEFT's create_loraplus_optimizer (typical 16); 0 = off (default)."})
    float loraplusLrRatio;
    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Clip the global gradient norm; 0 = off (default: ${DEFAULT-VALUE}).")
    float maxGradNorm;
    @Option(names = "--group-by-length", description = {"Batch texts of similar length together, the longest batch first (HF's",
            "group_by_length): less padding, and the peak memory is met at the first step."})
    boolean groupByLength;
    @Option(names = "--gradient-checkpointing", description = {"Keep only each transformer block's input during the forward and",
            "recompute the block for its backward (HF's gradient_checkpointing): the same result in less memory",
            "(long sequences), for one more forward of every block per step (LoRA: up to half again the compute)."})
    boolean gradientCheckpointing;
    @Option(names = "--seed", defaultValue = "42", description = "Seed for LoRA init, data order and dropout (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out data, evaluated every --eval-every steps and at the end.")
    Path evalData;
    @Option(names = "--eval-every", defaultValue = "0", description = "Steps between evaluations; 0 = at the end only.")
    int evalEvery;
    @Option(names = "--save-every", defaultValue = "50", description = "Steps between checkpoints; 0 = at the end only (default: ${DEFAULT-VALUE}).")
    int saveEvery;
    @Option(names = "--resume", description = {"Continue the run in --out from its latest checkpoint, with the same flags (checked:",
            "a difference is refused unless named with --override)."})
    boolean resume;
    @Option(names = "--override", split = ",", paramLabel = "NAME", description = {"With --resume: settings that may differ from the",
            "checkpoint's, named deliberately: lr, schedule, warmup, weight_decay, max_grad_norm, epochs, max_steps,",
            "loraplus_lr_ratio."})
    Set<String> overrides = Set.of();
    @Option(names = "--overwrite", description = "Replace a previous run in --out (never files lora4j did not write, never an input).")
    boolean overwrite;
    @Option(names = "--dry-run", description = "Print which modules LoRA would adapt and the parameter counts, then stop.")
    boolean dryRun;
    @Option(names = "--spark-master", paramLabel = "URL", description = {"Train data-parallel on Apache Spark: local[N] runs N workers in",
            "this process (embedded Spark), a master URL those of a cluster (model, data and --out on a path every",
            "executor sees). --batch-size is then per worker. Needs lora4j-spark (./lora4j adds it for this flag)."})
    String sparkMaster;
    @Option(names = "--workers", defaultValue = "0", description = "With --spark-master: data-parallel workers, one task slot each (default: every slot).")
    int workers;

    @Spec
    CommandSpec spec;

    /**
     * The run {@code lora4j train ARGS} makes, without a listener: how each worker of a data-parallel run (lora4j-spark)
     * builds the same run from the driver's flags. Bad flags end in a {@link Lora4jException}.
     */
    public static FineTune.Builder fineTune(List<String> args) {
        TrainCommand c = new TrainCommand();
        try {
            new CommandLine(c).parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new Lora4jException(e.getMessage(), e);
        }
        return c.builder();
    }

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        FineTune.Result r;
        try (TrainingReport report = new TrainingReport(w)) {
            FineTune.Builder builder = builder().listener(report);
            if (dryRun) {
                report.onPlan(builder.build().plan());
                return 0;
            }
            r = sparkMaster != null ? DistributedTraining.find().train(sparkMaster, workers, workerArgs(), report) : builder.build().run();
        } catch (TrainingDivergedException e) {
            throw new Lora4jException(e.getMessage() + (e.lastGood().isPresent()
                    ? " (the same command with a lower --lr and --resume --override lr)" : " (lower --lr)"), e);
        } catch (Lora4jException e) {
            throw FlagNames.named(e);
        }
        ProcessMemory.peakRssMb().ifPresent(mb -> w.printf("peak memory (resident set of the process): %,.0f MB%n", mb));
        w.printf("wrote %s to %s (%s, %s/)%n", full ? "the model" : headOnly ? "the head (as an adapter)" : "the adapter", r.output(),
                r.plan().labels() != null ? (full ? "config.json with the labels" : "label_map.json") + ", metrics.jsonl" : "metrics.jsonl",
                Checkpoints.DIR);
        return 0;
    }

    /** The pipeline these flags describe (no listener yet). */
    private FineTune.Builder builder() {
        if (full && headOnly) throw new Lora4jException("give --full or --head-only, not both");
        if ((full || headOnly) && (targets != null || targetsRegex != null)) {
            throw new Lora4jException((full ? "--full trains every parameter" : "--head-only trains no LoRA") + ": drop --targets / --targets-regex");
        }
        if ((full || headOnly) && initLoraWeights != null) throw new Lora4jException((full ? "--full" : "--head-only") + " trains no LoRA: drop --init-lora-weights");
        if (full && baseDtype() != BaseDtype.F32) throw new Lora4jException("--base-dtype " + baseDtype + " stores frozen weights; --full freezes none (drop one)");
        if (workers < 0) throw new Lora4jException("--workers must be 1 or more (0: every task slot), got " + workers);
        if (workers > 0 && sparkMaster == null) throw new Lora4jException("--workers is for data-parallel training: give --spark-master too");
        return FineTune.builder().model(modelDir).data(data).evalData(evalData).output(out).task(Classifiers.task(task, modelDir, null))
                .method(full ? Method.full() : headOnly ? Method.headOnly() : Method.lora(loraConfig()))
                .config(TrainConfig.builder().lr(lr).epochs(epochs).maxSteps(maxSteps).batchSize(batchSize).gradAccum(gradAccum)
                        .seqLen(seqLen == null ? 0 : seqLen).warmup(warmup).schedule(schedule()).weightDecay(weightDecay)
                        .maxGradNorm(maxGradNorm).seed(seed).evalEvery(evalEvery).saveEvery(saveEvery).groupByLength(groupByLength)
                        .loraplusLrRatio(loraplusLrRatio).gradientCheckpointing(gradientCheckpointing).build())
                .baseDtype(baseDtype()).resume(resume).overwrite(overwrite).overrides(overrides);
    }

    /** This command's flags as given, less those that choose where it runs: what each Spark worker rebuilds the run from. */
    private List<String> workerArgs() {
        List<String> args = new ArrayList<>();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (o.inherited() || PLACEMENT.contains(o.longestName())) continue;
            if (o.arity().max() == 0) {
                args.add(o.longestName());
                continue;
            }
            for (String v : o.originalStringValues()) {
                args.add(o.longestName());
                // executors have other working directories; a URI (hdfs://…) stays as given
                args.add(o.type() == Path.class && !DistributedTraining.isUri(v) ? Path.of(v).toAbsolutePath().toString() : v);
            }
        }
        return args;
    }

    private LoraConfig loraConfig() {
        if (targets != null && targetsRegex != null) throw new Lora4jException("give --targets or --targets-regex, not both");
        LoraConfig c = LoraConfig.peftDefaults().withR(rank).withAlpha(alpha != null ? alpha : 2.0 * rank).withDropout(dropout).withRslora(rslora)
                .withDora(useDora);
        if (initLoraWeights != null) c = c.withInitPeftValue(initLoraWeights);
        if (targetsRegex != null) return c.withTargets(new ModuleSpec.Regex(targetsRegex));
        if (targets != null && targets.size() == 1 && targets.get(0).equalsIgnoreCase(ModuleSpec.ALL_LINEAR)) return c.withTargets(new ModuleSpec.AllLinear());
        return targets != null ? c.withTargets(new ModuleSpec.Names(targets)) : c;
    }

    private LrSchedule schedule() {
        try {
            return LrSchedule.valueOf(schedule.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new Lora4jException("--schedule '" + schedule + "' is not one of " + Arrays.toString(LrSchedule.values()).toLowerCase(Locale.ROOT));
        }
    }

    private BaseDtype baseDtype() {
        return switch (baseDtype.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> BaseDtype.F32;
            case "bf16", "bfloat16" -> BaseDtype.BF16;
            case "q8_0" -> BaseDtype.Q8_0;
            case "q4_0" -> BaseDtype.Q4_0;
            case "nf4" -> BaseDtype.NF4;
            default -> throw new Lora4jException("--base-dtype '" + baseDtype + "' is not one of f32, bf16, q8_0, q4_0, nf4");
        };
    }
}
