package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** lora4j init: a random model of a config.json that the loaders read back, seeded, with the tokenizer copied. */
class InitCommandTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    @TempDir
    Path tmp;

    @Test
    void writesALoadableSeededRandomModel() throws IOException {
        for (String fixture : new String[] {"gpt2-tiny", "llama-golden"}) {
            Path a = tmp.resolve(fixture + "-a"), b = tmp.resolve(fixture + "-b");
            CliTest.Run run = CliTest.run("init", "--config", TESTDATA.resolve(fixture).resolve("config.json").toString(), "--tokenizer",
                    TESTDATA.resolve("gpt2-tiny").toString(), "--out", a.toString(), "--seed", "7");
            assertEquals(0, run.status(), run.err());
            assertTrue(run.out().contains("wrote a random"), run.out());
            assertEquals(0, CliTest.run("init", "--config", TESTDATA.resolve(fixture).resolve("config.json").toString(), "--out", b.toString(),
                    "--seed", "7").status());
            assertTrue(Files.isRegularFile(a.resolve("tokenizer.json")) && !Files.exists(b.resolve("tokenizer.json")));
            CausalLm original = ModelLoader.load(TESTDATA.resolve(fixture)), ma = ModelLoader.load(a), mb = ModelLoader.load(b);
            assertEquals(original.module().parameterCount(), ma.module().parameterCount());
            ma.module().namedParameters().forEach((name, p) -> assertArrayEquals(p.data(), mb.module().namedParameters().get(name).data(), name));
            Tensor w = ma.module().namedParameters().values().stream().filter(p -> p.shape().rank() == 2).findFirst().orElseThrow();
            double sq = 0;
            for (float x : w.data()) sq += x * x;
            assertEquals(0.02, Math.sqrt(sq / w.size()), 0.004, "N(0, 0.02)");
        }
        CliTest.Run bad = CliTest.run("init", "--config", TESTDATA.resolve("bert-tiny/config.json").toString(), "--out", tmp.resolve("x").toString());
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("model_type 'bert' cannot be initialised"), bad.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void pretrainThenFineTuneKeepsEachRunsOwnMetrics() throws IOException {
        Path init = tmp.resolve("init"), pre = tmp.resolve("pretrained"), tuned = tmp.resolve("tuned");
        String data = TESTDATA.resolve("moby-dick/train.txt").toString();
        assertEquals(0, CliTest.run("init", "--config", TESTDATA.resolve("gpt2-tiny/config.json").toString(), "--tokenizer",
                TESTDATA.resolve("gpt2-tiny").toString(), "--out", init.toString()).status());
        CliTest.Run p = CliTest.run("train", "--full", "--model", init.toString(), "--data", data, "--out", pre.toString(), "--max-steps", "3",
                "--seq-len", "32", "--batch-size", "2", "--save-every", "0");
        assertEquals(0, p.status(), p.err());
        CliTest.Run t = CliTest.run("train", "--full", "--model", pre.toString(), "--data", data, "--out", tuned.toString(), "--max-steps", "2",
                "--seq-len", "32", "--batch-size", "2", "--save-every", "0");
        assertEquals(0, t.status(), t.err());
        java.util.List<String> metrics = Files.readAllLines(tuned.resolve("metrics.jsonl"));
        assertEquals(3, metrics.size(), "2 steps and the summary of this run, not the base's log: " + metrics);
        assertTrue(Files.isRegularFile(tuned.resolve("tokenizer.json")) && Files.isRegularFile(tuned.resolve("config.json")));
    }
}
