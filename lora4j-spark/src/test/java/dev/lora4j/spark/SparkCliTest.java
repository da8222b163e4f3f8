package dev.lora4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.cli.Main;
import dev.lora4j.lora.LoraConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lora4j train --spark-master local[2]}: the command line finds lora4j-spark (ServiceLoader), starts an embedded
 * Spark (this class's one context), and prints and writes what a single-machine run does, evaluations included.
 */
class SparkCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    @TempDir
    Path tmp;

    @Test
    void trainWithASparkMasterRunsTheWorkersAndWritesTheRunOnTheDriver() throws IOException {
        Path out = tmp.resolve("run");
        StringWriter stdout = new StringWriter(), stderr = new StringWriter();
        int status = Main.run(new PrintWriter(stdout, true), new PrintWriter(stderr, true), "train", "--model",
                TESTDATA.resolve("gpt2-tiny").toString(), "--data", TESTDATA.resolve("moby-dick/train.txt").toString(), "--eval-data",
                TESTDATA.resolve("moby-dick/valid.txt").toString(), "--out", out.toString(), "--max-steps", "4", "--seq-len", "32",
                "--batch-size", "2", "--eval-every", "2", "--save-every", "2", "--spark-master", "local[2]", "--workers", "2");
        assertEquals(0, status, stdout + "\n" + stderr);
        String printed = stdout.toString();
        assertTrue(printed.contains("LoRA r=8 alpha=16 on 2 modules") && printed.contains("training 4 steps") && printed.contains("(batch 4 × accumulation 1)")
                && printed.contains("step 2: eval loss") && printed.contains("step 4: eval loss") && printed.contains("wrote the adapter to"), printed);
        assertEquals(8, LoraConfig.read(out.resolve("adapter_config.json")).r());
        assertTrue(Files.isDirectory(out.resolve("checkpoints/checkpoint-4")));
        assertTrue(Files.notExists(out.resolve(".export.tmp")), "the staged result was published");
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertEquals(2, metrics.lines().filter(l -> l.contains("eval_loss")).count(), metrics);
        assertTrue(metrics.lines().reduce((a, b) -> b).orElseThrow().contains("train_runtime_s"), metrics);
    }
}
