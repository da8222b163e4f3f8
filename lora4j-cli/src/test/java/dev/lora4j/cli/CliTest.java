package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it: output, JSON, exit codes, and one-line errors without stack traces. */
class CliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final Path TINY = TESTDATA.resolve("gpt2-tiny");
    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void inspectListsFamilySizesAndTargets() throws IOException {
        Run r = run("inspect", TINY.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("family       gpt2"), r.out());
        assertTrue(r.out().contains("parameters   812,752"), r.out());
        assertTrue(r.out().contains("transformer.h.1.mlp.c_proj") && r.out().contains("Conv1D"), r.out());

        Run j = run("inspect", TINY.toString(), "--json");
        assertEquals(0, j.status(), j.err());
        JsonNode o = new ObjectMapper().readTree(j.out());
        assertEquals("gpt2", o.get("model_type").asText());
        assertEquals(812_752, o.get("parameters").asLong());
        assertEquals(8, o.get("target_modules").size());
        JsonNode first = o.get("target_modules").get(0);
        assertEquals("transformer.h.0.attn.c_attn", first.get("name").asText());
        assertEquals(16, first.get("in").asInt());
        assertEquals(48, first.get("out").asInt());
        assertEquals("c_attn", o.get("default_target_modules").get(0).asText());
    }

    @Test
    void inspectCoversEncodersAndLeavesOutTheOutputHead() throws IOException {
        Run bert = run("inspect", TESTDATA.resolve("bert-tiny").toString(), "--json");
        assertEquals(0, bert.status(), bert.err());
        JsonNode b = new ObjectMapper().readTree(bert.out());
        assertEquals("bert", b.get("model_type").asText());
        assertEquals("[\"query\",\"value\"]", b.get("default_target_modules").toString());
        Run llama = run("inspect", TESTDATA.resolve("llama-golden").toString(), "--json");
        assertEquals(0, llama.status(), llama.err());
        JsonNode l = new ObjectMapper().readTree(llama.out());
        assertEquals(14, l.get("target_modules").size(), "7 projections × 2 layers; lm_head is the output head");
        assertEquals("model.layers.0.self_attn.q_proj", l.get("target_modules").get(0).get("name").asText());
    }

    @Test
    void evalPrintsLossPerplexityAndTokensMatchingPyTorch() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(TINY.resolve("golden.json").toFile());
        Path data = Files.writeString(tmp.resolve("text.txt"), golden.get("text").asText());
        Run r = run("eval", "--model", TINY.toString(), "--data", data.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        double expected = golden.get("loss").asDouble();
        assertEquals(expected, o.get("loss").asDouble(), 1e-4 * expected);
        assertEquals(Math.exp(o.get("loss").asDouble()), o.get("perplexity").asDouble(), 1e-6 * o.get("perplexity").asDouble());
        assertEquals(golden.get("input_ids").size() - 1, o.get("tokens").asInt());

        Run text = run("eval", "--model", TINY.toString(), "--data", data.toString(), "--seq-len", "16");
        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().startsWith("loss 10.85"), text.out());
    }

    @Test
    void badInputEndsWithOneLineNamingFileAndKey() throws IOException {
        Run missing = run("inspect", tmp.resolve("no-such-model").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().startsWith("error: ") && missing.err().contains("no-such-model"), missing.err());
        assertFalse(missing.err().contains("\tat "), "no stack trace without --verbose");

        Path bad = Files.createDirectories(tmp.resolve("bad"));
        Files.copy(TINY.resolve("config.json"), bad.resolve("config.json"));
        byte[] header = "{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,4096]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + header.length + 64).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(header.length).put(header);
        Files.write(bad.resolve("model.safetensors"), file.array());
        Run hostile = run("inspect", bad.toString());
        assertEquals(1, hostile.status());
        assertTrue(hostile.err().contains("model.safetensors") && hostile.err().contains("wte.weight"), hostile.err());
        assertEquals(1, hostile.err().lines().count(), hostile.err());

        Run verbose = run("inspect", bad.toString(), "--verbose");
        assertEquals(1, verbose.status());
        assertTrue(verbose.err().contains("\tat "), "stack trace with --verbose");

        Path empty = Files.writeString(tmp.resolve("empty.txt"), "");
        Run noData = run("eval", "--model", TINY.toString(), "--data", empty.toString());
        assertEquals(1, noData.status());
        assertTrue(noData.err().contains("empty.txt") && noData.err().contains("no tokens"), noData.err());

        Path ids = Files.writeString(tmp.resolve("ids.jsonl"), "{\"input_ids\": [1, 2, 99999]}\n");
        Run oov = run("eval", "--model", TINY.toString(), "--data", ids.toString());
        assertEquals(1, oov.status());
        assertTrue(oov.err().contains("ids.jsonl:1") && oov.err().contains("99999"), oov.err());

        Run tooLong = run("eval", "--model", TINY.toString(), "--data", ids.toString(), "--seq-len", "4096");
        assertEquals(1, tooLong.status());
        assertTrue(tooLong.err().contains("--seq-len 4096"), tooLong.err());

        assertEquals(2, run("frobnicate").status());
        assertEquals(2, run("eval", "--model", TINY.toString()).status());
    }
}
