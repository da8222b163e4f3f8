package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * lora4j experiment on the tiny BERT: every configuration runs in its own JVM, the table and report appear, reruns reuse
 * results; a single labelled file is split with the seed, and a learning-rate grid is decided on validation alone.
 */
class ExperimentCommandTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    @TempDir
    Path tmp;

    @Test
    void runsEachConfigurationInAChildJvmAndKeepsFinishedOnes() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("data"));
        for (String split : List.of("train", "valid", "test")) Files.copy(TESTDATA.resolve("labelled/train.jsonl"), data.resolve(split + ".jsonl"));
        Path out = tmp.resolve("report");
        String[] args = {"experiment", "--model", TESTDATA.resolve("bert-tiny").toString(), "--data", data.toString(), "--out", out.toString(),
                "--ranks", "1,8", "--max-steps", "2", "--batch-size", "8"};
        CliTest.Run run = CliTest.run(args);
        assertEquals(0, run.status(), run.err() + run.out());
        for (String row : List.of("| frozen encoder + head | ", "| LoRA r=1 | ", "| LoRA r=8 | ", "| full fine-tuning | ",
                "Targets (LoRA r=8 against full fine-tuning):", "- under 1 % of the parameters trainable: ")) {
            assertTrue(run.out().contains(row), row + " in:\n" + run.out());
        }
        for (String f : List.of("report.md", "accuracy.png", "loss.png", "runs/head-only/result.json", "runs/lora-r1/output/adapter_model.safetensors",
                "runs/full/output/model.safetensors", "runs/full/train.log")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        JsonNode full = new ObjectMapper().readTree(out.resolve("runs/full/result.json").toFile());
        assertEquals(22_562, full.get("trainable_params").asLong());
        assertTrue(full.get("peak_rss_mb").asDouble() > 10 && full.get("test_examples").asInt() == 64, full.toString());
        assertTrue(Files.readString(out.resolve("report.md")).contains("| LoRA r=8 | "));

        CliTest.Run again = CliTest.run(args);
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("LoRA r=1: kept from"), again.out());

        CliTest.Run bad = CliTest.run("experiment", "--model", TESTDATA.resolve("bert-tiny").toString(), "--data", data.toString(), "--out",
                tmp.resolve("x").toString(), "--ranks", "0");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("--ranks: 0 is not a positive rank"), bad.err());
    }

    @Test
    void splitsOneFileAndChoosesEachConfigurationsLearningRateOnValidationOnly() throws IOException {
        Path out = tmp.resolve("grid");
        String[] args = {"experiment", "--model", TESTDATA.resolve("bert-tiny").toString(), "--data", TESTDATA.resolve("labelled/train.jsonl").toString(),
                "--out", out.toString(), "--methods", "lora,dora", "--ranks", "2", "--lrs", "lora=1e-2,5e-2", "--lr", "2e-2", "--max-steps", "2",
                "--batch-size", "8", "--eval-every", "0"};
        CliTest.Run run = CliTest.run(args);
        assertEquals(0, run.status(), run.err() + run.out());
        assertTrue(run.out().contains("(64 texts) split 70/15/15 % per label with seed 42: 45 train, 9 valid, 10 test"), run.out());
        for (String row : List.of("| LoRA r=2 | 1e-2 | 1 | ", "| LoRA r=2 | 5e-2 | 1 | ", "| DoRA r=2 | 2e-2 | 1 | ", "LoRA r=2 (lr 5e-2, 1 epoch): validation accuracy")) {
            assertTrue(run.out().contains(row), row + " in:\n" + run.out());
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode low = json.readTree(out.resolve("runs/lora-r2-lr1e-2-e1/result.json").toFile());
        JsonNode high = json.readTree(out.resolve("runs/lora-r2-lr5e-2-e1/result.json").toFile());
        JsonNode chosen = low.get("valid_accuracy").asDouble() >= high.get("valid_accuracy").asDouble() ? low : high;
        JsonNode other = chosen == low ? high : low;
        assertTrue(chosen.has("accuracy") && !other.has("accuracy"), "only the chosen run sees the test split: " + low + high);
        assertEquals(10, chosen.get("test_examples").asInt());
        assertTrue(Files.isRegularFile(out.resolve("runs/dora-r2/result.json")) && Files.readString(out.resolve("data/valid.jsonl")).lines().count() == 9);
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("| configuration | lr | epochs | validation accuracy | validation macro-F1 |"), report);
        assertTrue(report.contains(String.format("| LoRA r=2 | %s | 1 | %.4f | ", chosen.get("lr").asText(), chosen.get("valid_accuracy").asDouble()))
                && report.lines().filter(l -> l.startsWith("| LoRA r=2 | ") && l.endsWith("| yes |")).count() == 1, report);
        assertTrue(report.contains("Made by `lora4j experiment --model " + TESTDATA.resolve("bert-tiny") + " --data "), report);

        CliTest.Run bad = CliTest.run("experiment", "--model", TESTDATA.resolve("bert-tiny").toString(), "--out", tmp.resolve("y").toString(),
                "--lrs", "qlora=1e-3");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("--lrs: 'qlora' is not a method (expected one of head, lora, dora, full)"), bad.err());
    }
}
