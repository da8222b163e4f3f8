package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bitsandbytes 4-bit checkpoint (testdata/bnb/tiny-llama-nf4: nf4, double quantization, bfloat16) as a base through
 * the CLI: inspect, train a LoRA on it (QLoRA), eval and generate with the adapter, to-gguf, merge into an unquantized
 * directory; a full fine-tune of it (the base widened to float32) saved unquantized.
 */
class BnbCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final String BNB = TESTDATA.resolve("bnb/tiny-llama-nf4").toString();
    private static final String TRAIN = TESTDATA.resolve("moby-dick/train.txt").toString();
    private static final String VALID = TESTDATA.resolve("moby-dick/valid.txt").toString();

    @TempDir
    Path tmp;

    private static JsonNode json(CliTest.Run r) throws IOException {
        assertEquals(0, r.status(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void trainEvalGenerateAndMergeOnABitsandbytesBase() throws IOException {
        assertEquals("llama", json(CliTest.run("inspect", BNB, "--json")).get("model_type").asText());
        Path adapter = tmp.resolve("adapter");
        CliTest.Run train = CliTest.run("train", "--model", BNB, "--data", TRAIN, "--out", adapter.toString(), "--targets", "q_proj,v_proj",
                "--rank", "4", "--lr", "1e-2", "--max-steps", "2", "--batch-size", "2", "--seq-len", "32");
        assertEquals(0, train.status(), train.err());
        assertTrue(Files.exists(adapter.resolve("adapter_model.safetensors")));
        double base = json(CliTest.run("eval", "--model", BNB, "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        double adapted = json(CliTest.run("eval", "--model", BNB, "--adapter", adapter.toString(), "--data", VALID, "--seq-len", "32", "--json"))
                .get("loss").asDouble();
        assertTrue(Double.isFinite(base) && Double.isFinite(adapted) && adapted != base, base + " -> " + adapted);
        Path gguf = tmp.resolve("base.gguf");
        assertEquals(0, CliTest.run("to-gguf", "--model", BNB, "--out", gguf.toString(), "--outtype", "f32").status());
        double ofGguf = json(CliTest.run("eval", "--model", gguf.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(base, ofGguf, 1e-5 * base, "the dequantized weights, exactly, in an F32 GGUF");

        CliTest.Run gen = CliTest.run("generate", "--model", BNB, "--adapter", adapter.toString(), "--prompt", "Call me Ishmael.",
                "--max-new-tokens", "4", "--temperature", "0");
        assertEquals(0, gen.status(), gen.err());

        Path merged = tmp.resolve("merged");
        CliTest.Run merge = CliTest.run("merge", "--model", BNB, "--adapter", adapter.toString(), "--out", merged.toString());
        assertEquals(0, merge.status(), merge.err());
        assertFalse(Files.readString(merged.resolve("config.json")).contains("quantization_config"));
        double ofMerged = json(CliTest.run("eval", "--model", merged.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(adapted, ofMerged, 1e-2 * adapted, "the merged weights are written in bfloat16, the checkpoint's dtype");

        Path full = tmp.resolve("full");
        CliTest.Run fullRun = CliTest.run("train", "--model", BNB, "--data", TRAIN, "--out", full.toString(), "--full",
                "--lr", "1e-3", "--max-steps", "1", "--batch-size", "2", "--seq-len", "32");
        assertEquals(0, fullRun.status(), fullRun.err());
        assertFalse(Files.readString(full.resolve("config.json")).contains("quantization_config"), "a full fine-tune widens the base");
        assertTrue(Double.isFinite(json(CliTest.run("eval", "--model", full.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble()));
    }
}
