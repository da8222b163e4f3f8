package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** quickstart end to end on the real all-MiniLM-L6-v2 from the class path, on a 24-text slice of the split, 2 steps. */
class QuickstartCommandTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    @TempDir
    Path tmp;

    @Test
    void trainsTestsAndWritesTheReport() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("data"));
        for (String split : List.of("train", "valid", "test")) {
            Files.write(data.resolve(split + ".jsonl"), Files.readAllLines(TESTDATA.resolve("spam-assassin/" + split + ".jsonl")).subList(0, 24));
        }
        Path out = tmp.resolve("report");
        CliTest.Run run = CliTest.run("quickstart", "--data", data.toString(), "--out", out.toString(), "--max-steps", "2", "--seq-len", "32");
        assertEquals(0, run.status(), run.err() + run.out());
        for (String s : List.of("trainable params: 222,338 || all params: 22,787,714", "| test accuracy (24 e-mails) |",
                "| adapter file vs model file | 893,096 B vs 90,387,606 B (101× smaller) |", "report: ")) {
            assertTrue(run.out().contains(s), s + " in:\n" + run.out());
        }
        for (String f : List.of("report.md", "loss.png", "accuracy.png", "adapter/adapter_model.safetensors", "adapter/label_map.json",
                "all-minilm-l6-v2/all-minilm-l6-v2.onnx", "all-minilm-l6-v2/tokenizer.json")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertTrue(Files.readString(out.resolve("report.md")).contains("![training loss](loss.png)"));
    }
}
