package dev.lora4j.train;

import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.TaskType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.Fingerprint;
import dev.lora4j.io.Output;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The fine-tuning pipeline, the same for every task and method: claim the output directory (never an input, never
 * someone else's files, one run at a time), load the base for its task, apply the method (LoRA, full, head only),
 * store the frozen base as asked, tokenize the data, train with checkpoints that resume exactly and are checked
 * against every setting, write {@code metrics.jsonl}, and export the result (a PEFT adapter or a whole model).
 *
 * <pre>{@code
 * FineTune.Result r = FineTune.builder()
 *         .model(base).data(train).output(out)
 *         .method(Method.lora(LoraConfig.peftDefaults().withR(8).withAlpha(16)))
 *         .config(TrainConfig.builder().lr(5e-3f).maxSteps(100).build())
 *         .build().run();
 * }</pre>
 *
 * The output directory then holds the adapter ({@code adapter_config.json}, {@code adapter_model.safetensors}, and
 * {@code label_map.json} for a classifier) or the model, {@code metrics.jsonl}, and {@code checkpoints/} (see
 * {@link Checkpoints}).
 */
public final class FineTune {
    /** The log of every step and evaluation, one JSON object per line. */
    public static final String METRICS_FILE = "metrics.jsonl";
    private static final String EXPORT_STAGING = ".export.tmp";

    /** What a run will train: the task, method, LoRA configuration and parameter counts, the labels of a classifier. */
    public record Plan(TaskType task, Method method, String modelType, LoraConfig lora, LoraInjector.Report report,
                       List<String> newHeadParameters, LabelMap labels, int seqLen) {}

    /**
     * How training starts: its length, the values of the frozen base stored as bfloat16 (0 for float32), and the step a
     * resumed run continues after (0 for a new one).
     */
    public record Start(int totalSteps, int examples, int seqLen, int batchSize, int gradAccum, long bf16Values, int resumedStep) {}

    /** What a finished run wrote and measured; {@code lastEval} is empty without evaluation data. */
    public record Result(Path output, Plan plan, int steps, double trainSeconds, Map<String, Double> lastEval) {}

    /** What the pipeline reports as it goes; every method has a default, implement what you show. */
    public interface Listener extends Trainer.Listener {
        /** The model is loaded and the method applied. */
        default void onPlan(Plan plan) {}

        /** Data are tokenized and training begins. */
        default void onStart(Start start) {}

        @Override
        default void onStep(Trainer.StepMetrics m) {}
    }

    private final Path model, data, evalData, output;
    private final TaskType task;
    private final Method method;
    private final TrainConfig config;
    private final BaseDtype baseDtype;
    private final boolean resume, overwrite;
    private final Set<String> overrides;
    private final Listener listener;
    private final Consumer<Module> preparedModel;

    private FineTune(Builder b) {
        if (b.model == null) throw new Lora4jException("no base model given");
        this.model = b.model;
        this.data = b.data;
        this.evalData = b.evalData;
        this.output = b.output;
        this.task = b.task != null ? b.task : defaultTask(b.model);
        this.method = b.method;
        this.config = b.config;
        this.baseDtype = b.baseDtype;
        this.resume = b.resume;
        this.overwrite = b.overwrite;
        this.overrides = Set.copyOf(b.overrides);
        this.listener = b.listener;
        this.preparedModel = b.preparedModel;
        if (resume && overwrite) throw new Lora4jException("a run is either resumed or overwritten, not both");
        if (!overrides.isEmpty() && !resume) throw new Lora4jException("settings can only be overridden when resuming");
        if (config.loraplusLrRatio() > 0 && !(method instanceof Method.Lora)) {
            throw new Lora4jException("loraplus_lr_ratio speeds up lora_B, which only a LoRA run has (not full or head-only training)");
        }
        RunSettings.checkOverridable(overrides);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The task for a base: its family's default (sequence classification for an encoder or an ONNX export). */
    public static TaskType defaultTask(Path model) {
        return ModelLoader.defaultTask(model);
    }

    /** Loads the base and applies the method, without reading the data's texts or touching the output: a dry run. */
    public Plan plan() {
        if (task == TaskType.SEQ_CLS) requireData();
        return PreparedRun.prepare(this, false).plan;
    }

    /** Runs the whole pipeline; see the class comment. */
    public Result run() {
        try (Output out = claimOutput()) {
            return train(out.path(), GradientAllReduce.SINGLE, resume, () -> prepareOutput(out), run -> {
                stageResult(out.path(), run);
                publishResult(out);
            });
        }
    }

    /**
     * Claims the output directory (see {@link Output}): new or empty, or a previous run to resume or overwrite as asked;
     * never an input. {@link #run()} does it first; the driver of a data-parallel run holds the claim while its workers
     * run {@link #runWorker}.
     */
    public Output claimOutput() {
        requireData();
        if (output == null) throw new Lora4jException("no output directory given");
        List<Path> inputs = new ArrayList<>(List.of(model, data));
        if (evalData != null) inputs.add(evalData);
        Output.Mode mode = resume ? Output.Mode.CONTINUE : overwrite ? Output.Mode.OVERWRITE : Output.Mode.NEW;
        return Output.directory(output, Output.Kind.TRAINING_RUN, mode, inputs);
    }

    /**
     * Makes a claimed output ready for this run's files, once the run has loaded and validated everything: a previous run
     * is cleared when overwriting, and the names the run writes are recorded in the marker.
     */
    public void prepareOutput(Output out) {
        if (overwrite && out.hasPrevious()) out.clearPrevious();
        out.record(Checkpoints.DIR, METRICS_FILE, EXPORT_STAGING);
    }

    /**
     * Runs this pipeline as worker {@code workers.rank()} of a data-parallel run (lora4j-spark): the output must already
     * be claimed by the caller (the driver, {@link #claimOutput}), on a path every worker sees. The batch size is per
     * worker: the run's micro-batch is W times it, split between the workers (see {@link Trainer}). Every worker loads
     * the base and the data and trains; {@code beforeWriting} runs on each once all is loaded and validated, before any
     * file is written (the driver then calls {@link #prepareOutput}). Only rank 0 writes: checkpoints, metrics.jsonl, and
     * the result, staged beside the checkpoints for the driver's {@link #publishResult}. The run continues from the latest
     * checkpoint when there is one (a run restarted after a failure goes on from there), whether or not it was asked to
     * resume; the caller's claim decided what may be there.
     */
    public Result runWorker(GradientAllReduce workers, Runnable beforeWriting) {
        requireData();
        if (output == null) throw new Lora4jException("no output directory given");
        Path dir = output.toAbsolutePath().normalize();
        return train(dir, workers, true, beforeWriting, workers.rank() == 0 ? run -> stageResult(dir, run) : run -> {});
    }

    private Result train(Path dir, GradientAllReduce workers, boolean resume, Runnable beforeWriting, Consumer<PreparedRun> export) {
        boolean writer = workers.rank() == 0;
        PreparedRun run = PreparedRun.prepare(this, true);
        listener.onPlan(run.plan);
        TrainConfig cfg = config.toBuilder().seqLen(run.plan.seqLen()).batchSize(config.batchSize() * workers.worldSize()).build();
        Trainer trainer = new Trainer(run.task, cfg, workers);
        beforeWriting.run();
        int resumedStep = resume ? new Checkpoints(dir).latest().map(Checkpoints::stepOf).orElse(0) : 0;
        System.gc();   // loading's garbage must not size the heap the steps then keep (MiniLM: peak RSS 2,103 → 1,586 MB)
        listener.onStart(new Start(trainer.totalSteps(), run.examples, cfg.seqLen(), cfg.batchSize(), cfg.gradAccum(), run.bf16Values, resumedStep));
        Metrics metrics = new Metrics(run.plan.task() == TaskType.SEQ_CLS ? "examples" : "tokens", listener);
        try (MetricsLog log = writer ? MetricsLog.open(dir.resolve(METRICS_FILE), resume ? resumedStep : -1) : null) {
            metrics.log = log;
            Trainer.Options options = new Trainer.Options(resume, overrides, settings(run), run.exporter(model));
            trainer.run(dir, options, metrics);
            export.accept(run);
            if (writer) metrics.finish(run.plan.report(), run.model.module());
        }
        return new Result(dir, run.plan, trainer.totalSteps(), metrics.elapsed, metrics.lastEval);
    }

    /** Writes the result into a fresh staging directory beside the checkpoints. */
    private void stageResult(Path dir, PreparedRun run) {
        Path staging = dir.resolve(EXPORT_STAGING);
        try {
            AtomicFiles.deleteRecursively(staging);
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw new Lora4jException(dir + ": cannot write the result: " + e.getMessage(), e);
        }
        run.exporter(model).accept(staging);
    }

    /** Moves the staged result up beside the checkpoints: recorded in the marker first, then moved file by file. */
    public void publishResult(Output out) {
        Path staging = out.path().resolve(EXPORT_STAGING);
        try {
            List<Path> files;
            try (Stream<Path> s = Files.list(staging)) {
                files = s.sorted().toList();
            }
            out.record(files.stream().map(f -> f.getFileName().toString()).toArray(String[]::new));
            for (Path f : files) Files.move(f, out.path().resolve(f.getFileName()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.fsyncDirectory(out.path());
            Files.delete(staging);
        } catch (IOException e) {
            throw new Lora4jException(out.path() + ": cannot write the result: " + e.getMessage(), e);
        }
    }

    /** Every setting besides the trainer's own that changes the result: what a resume must find unchanged. */
    private RunSettings settings(PreparedRun run) {
        RunSettings s = RunSettings.empty().with("task", task).with("method", method.getClass().getSimpleName())
                .with("base_dtype", baseDtype).with("model", Fingerprint.ofModel(model)).with("data", Fingerprint.ofFile(data));
        if (run.plan.labels() != null) s = s.with("labels", run.plan.labels().id2label());
        if (run.savedConfig != null) {
            JsonNode lora;
            try {
                lora = new ObjectMapper().readTree(run.savedConfig.toJson());
            } catch (IOException e) {
                throw new IllegalStateException("LoraConfig.toJson wrote invalid JSON", e);
            }
            for (var e : lora.properties()) {
                if (!e.getKey().equals("base_model_name_or_path") && !e.getKey().equals("revision")) s = s.with("lora." + e.getKey(), e.getValue());
            }
        }
        return s;
    }

    private void requireData() {
        if (data == null) throw new Lora4jException("no training data given");
    }

    Path model() {
        return model;
    }

    Path data() {
        return data;
    }

    Path evalData() {
        return evalData;
    }

    TaskType task() {
        return task;
    }

    Method method() {
        return method;
    }

    TrainConfig config() {
        return config;
    }

    BaseDtype baseDtype() {
        return baseDtype;
    }

    Consumer<Module> preparedModel() {
        return preparedModel;
    }

    /** The listener's view plus metrics.jsonl (rank 0 only): one line per step and evaluation, and a last summary line. */
    private static final class Metrics implements Trainer.Listener {
        private final String unit;
        private final Listener listener;
        private MetricsLog log;                      // null on the workers that do not write
        private double elapsed;
        private Map<String, Double> lastEval = Map.of();
        private final long wallStart = System.nanoTime();
        private final Optional<Duration> cpuStart = ProcessHandle.current().info().totalCpuDuration();

        Metrics(String unit, Listener listener) {
            this.unit = unit;
            this.listener = listener;
        }

        @Override
        public void onStep(Trainer.StepMetrics m) {
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("step", m.step());
            rec.put("loss", m.loss());
            rec.put("lr", m.lr());
            rec.put("grad_norm", m.gradNorm());
            rec.put(unit, m.tokens());
            rec.put(unit + "_per_s", m.tokensPerSecond());
            rec.put("elapsed_s", m.elapsedSeconds());
            elapsed = m.elapsedSeconds();
            if (log != null) log.write(rec);
            listener.onStep(m);
        }

        @Override
        public void onEval(int step, Map<String, Double> metrics) {
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("step", step);
            rec.putAll(metrics);
            if (log != null) log.write(rec);
            lastEval = Map.copyOf(metrics);
            listener.onEval(step, metrics);
        }

        @Override
        public void onResume(int step, List<String> overridden) {
            listener.onResume(step, overridden);
        }

        /**
         * The run's last line: training time (this process's steps), parameter counts, the megabytes the model's
         * parameters take as stored (a quantized or bf16 base counts its blocks), the cores the training kept busy (CPU
         * time ÷ wall time from the first step to here, evaluations and checkpoints included), peak resident memory.
         */
        void finish(LoraInjector.Report counts, Module model) {
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("train_runtime_s", elapsed);
            rec.put("trainable_params", counts.trainable());
            rec.put("total_params", counts.total());
            rec.put("weights_mb", model.namedParameters().values().stream().mapToLong(t -> t.storage().bytes()).sum() / 1e6);
            Optional<Duration> cpu = ProcessHandle.current().info().totalCpuDuration();
            if (cpuStart.isPresent() && cpu.isPresent()) {                 // the process's CPU time ÷ wall time since the first step
                double busy = (cpu.get().toNanos() - cpuStart.get().toNanos()) / (double) (System.nanoTime() - wallStart);
                rec.put("train_cores_busy", Math.round(busy * 100) / 100.0);
            }
            ProcessMemory.peakRssMb().ifPresent(mb -> rec.put("peak_rss_mb", mb));
            log.write(rec);
        }
    }

    /** Settings of a run; the base model and the data are required, the rest has defaults. */
    public static final class Builder {
        private Path model, data, evalData, output;
        private TaskType task;
        private Method method = Method.lora(LoraConfig.peftDefaults());
        private TrainConfig config = TrainConfig.defaults();
        private BaseDtype baseDtype = BaseDtype.F32;
        private boolean resume, overwrite;
        private Set<String> overrides = Set.of();
        private Listener listener = new Listener() {};
        private Consumer<Module> preparedModel = model -> {};

        private Builder() {}

        /** The base: a Hugging Face model directory, or a BERT-family .onnx export. */
        public Builder model(Path v) { model = v; return this; }
        /** Training data (.txt / .jsonl for a causal LM; .jsonl / .csv / .tsv labelled texts for a classifier). */
        public Builder data(Path v) { data = v; return this; }
        /** Held-out data, evaluated every {@code evalEvery} steps and at the end. */
        public Builder evalData(Path v) { evalData = v; return this; }
        /** The run's directory (see {@link Output} for what may already be there). */
        public Builder output(Path v) { output = v; return this; }
        /** The task; default: {@link #defaultTask}. */
        public Builder task(TaskType v) { task = v; return this; }
        /** What to train; default: LoRA with PEFT's defaults for the family (r 8, alpha 8, its default targets). */
        public Builder method(Method v) { method = v; return this; }
        /** Hyper-parameters; default {@link TrainConfig#defaults()}. */
        public Builder config(TrainConfig v) { config = v; return this; }
        /** How the frozen base is stored; default float32. */
        public Builder baseDtype(BaseDtype v) { baseDtype = v; return this; }
        /** Continue the run in the output directory from its latest checkpoint (from the start if it has none yet). */
        public Builder resume(boolean v) { resume = v; return this; }
        /** Replace a previous run in the output directory (never files lora4j did not write). */
        public Builder overwrite(boolean v) { overwrite = v; return this; }
        /** When resuming: settings that may differ from the checkpoint's (see {@link RunSettings#OVERRIDABLE}). */
        public Builder overrides(Set<String> v) { overrides = v; return this; }
        /** Progress reports; default none. */
        public Builder listener(Listener v) { listener = v; return this; }
        /**
         * Receives the model once the method is applied and the base stored as asked, before the data are read; default
         * nothing. The data-parallel workers of one JVM share one frozen base there ({@link Tensor#shareValuesOf}).
         */
        public Builder preparedModel(Consumer<Module> v) { preparedModel = v; return this; }

        public FineTune build() {
            if (method == null || config == null || baseDtype == null || overrides == null || listener == null || preparedModel == null) {
                throw new IllegalArgumentException("method, config, baseDtype, overrides, listener and preparedModel cannot be null");
            }
            return new FineTune(this);
        }
    }
}
