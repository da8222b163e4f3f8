package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train → eval / merge / generate through the CLI on the tiny GPT-2, as the README shows them. */
class LoraCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final String TINY = TESTDATA.resolve("gpt2-tiny").toString();
    private static final String TRAIN = TESTDATA.resolve("moby-dick/train.txt").toString();
    private static final String VALID = TESTDATA.resolve("moby-dick/valid.txt").toString();
    @TempDir
    Path tmp;

    @Test
    void trainThenEvalMergeAndGenerateAgree() throws IOException {
        Path out = tmp.resolve("adapter");
        CliTest.Run train = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--eval-data", VALID, "--out", out.toString(),
                "--targets", "c_attn,mlp.c_proj", "--rank", "4", "--lr", "1e-2", "--max-steps", "4", "--batch-size", "4",
                "--seq-len", "16", "--save-every", "2", "--eval-every", "2");
        assertEquals(0, train.status(), train.err());
        assertTrue(train.out().contains("trainable params: 1,") && train.out().contains("transformer.h.1.mlp.c_proj"), train.out());
        assertTrue(train.out().contains("step 4: eval loss"), train.out());
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "checkpoints/checkpoint-4/trainer_state.json")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(7, metrics.size(), "4 step lines, 2 eval lines and the summary");
        assertTrue(metrics.get(6).contains("\"train_runtime_s\"") && metrics.get(6).contains("\"trainable_params\""), metrics.get(6));
        JsonNode first = new ObjectMapper().readTree(metrics.get(0));
        for (String k : List.of("step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s")) assertTrue(first.has(k), k);

        Path merged = tmp.resolve("merged");
        CliTest.Run merge = CliTest.run("merge", "--model", TINY, "--adapter", out.toString(), "--out", merged.toString());
        assertEquals(0, merge.status(), merge.err());
        assertTrue(merge.out().startsWith("merged 4 LoRA modules"), merge.out());

        JsonNode withAdapter = json(CliTest.run("eval", "--model", TINY, "--adapter", out.toString(), "--data", VALID, "--json"));
        JsonNode ofMerged = json(CliTest.run("eval", "--model", merged.toString(), "--data", VALID, "--json"));
        JsonNode ofBase = json(CliTest.run("eval", "--model", TINY, "--data", VALID, "--json"));
        assertEquals(withAdapter.get("loss").asDouble(), ofMerged.get("loss").asDouble(), 1e-5 * ofMerged.get("loss").asDouble());
        assertTrue(Math.abs(withAdapter.get("loss").asDouble() - ofBase.get("loss").asDouble()) > 1e-4, "the adapter changes the model");

        String[] gen = {"--prompt", "Call me Ishmael.", "--max-new-tokens", "12", "--temperature", "0"};
        CliTest.Run unmerged = CliTest.run(concat(new String[] {"generate", "--model", TINY, "--adapter", out.toString()}, gen));
        CliTest.Run plain = CliTest.run(concat(new String[] {"generate", "--model", merged.toString()}, gen));
        assertEquals(0, unmerged.status(), unmerged.err());
        assertEquals(plain.out(), unmerged.out(), "greedy text with the unmerged adapter equals the merged model's");

        CliTest.Run resumed = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", out.toString(), "--targets", "c_attn,mlp.c_proj",
                "--rank", "4", "--lr", "1e-2", "--max-steps", "6", "--batch-size", "4", "--seq-len", "16", "--save-every", "2", "--resume");
        assertEquals(1, resumed.status(), "other total steps than the checkpoint: refused");
        assertTrue(resumed.err().contains("other settings"), resumed.err());
    }

    @Test
    void dryRunAndBadTargets() {
        CliTest.Run dry = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("x").toString(), "--targets", "all-linear", "--dry-run");
        assertEquals(0, dry.status(), dry.err());
        assertTrue(dry.out().contains("on 8 modules") && dry.out().contains("trainable%"), dry.out());
        assertTrue(!Files.exists(tmp.resolve("x")), "a dry run writes nothing");

        CliTest.Run bad = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("y").toString(), "--targets", "q_proj");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("q_proj") && bad.err().contains("transformer.h.0.attn.c_attn"), bad.err());
    }

    @Test
    void gradientCheckpointingWritesTheSameAdapter() throws IOException {
        byte[][] adapters = new byte[2][];
        for (int i = 0; i < 2; i++) {
            Path out = tmp.resolve("run" + i);
            List<String> args = new ArrayList<>(List.of("train", "--model", TINY, "--data", TRAIN, "--out", out.toString(),
                    "--dropout", "0.1", "--lr", "1e-2", "--max-steps", "3", "--batch-size", "2", "--seq-len", "24", "--save-every", "0"));
            if (i == 1) args.add("--gradient-checkpointing");
            CliTest.Run train = CliTest.run(args.toArray(String[]::new));
            assertEquals(0, train.status(), train.err());
            adapters[i] = Files.readAllBytes(out.resolve("adapter_model.safetensors"));
        }
        assertArrayEquals(adapters[0], adapters[1], "recomputing the blocks in the backward changes no bit of the adapter");
    }

    private static JsonNode json(CliTest.Run r) {
        assertEquals(0, r.status(), r.err());
        try {
            return new ObjectMapper().readTree(r.out());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
