package dev.lora4j.cli;

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

/** {@code bench train} and {@code bench generate} on the tiny presets: the JSON they print, and the model sizes. */
class BenchCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> lines(String out) throws IOException {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : out.strip().split("\n")) nodes.add(JSON.readTree(line));
        return nodes;
    }

    @Test
    void trainLlamaTinyPrintsTheReferenceFieldsAndParameterCounts() throws IOException {
        CliTest.Run r = CliTest.run("bench", "train", "--preset", "llama-tiny", "--steps", "1", "--warmup", "0", "--json");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> out = lines(r.out());
        assertEquals(1, out.size(), r.out());
        JsonNode o = out.get(0);
        for (String f : List.of("impl", "preset", "mode", "batch", "seq", "rank", "targets", "threads", "params_total", "params_trainable",
                "step_s_median", "step_s_min", "step_s_max", "tokens_per_s", "peak_rss_mb", "first_loss", "last_loss")) {
            assertTrue(o.has(f), f + " missing from " + o);
        }
        assertEquals("llama-tiny", o.get("preset").asText());
        assertEquals("lora", o.get("mode").asText());
        assertEquals(List.of("q_proj", "v_proj"), List.of(o.get("targets").get(0).asText(), o.get("targets").get(1).asText()));
        // torch_reference.py --preset llama-tiny --mode lora: params_total 500352, params_trainable 7168
        assertEquals(500_352, o.get("params_total").asLong());
        assertEquals(7_168, o.get("params_trainable").asLong());
        // random N(0, 0.02) weights and tokens: the loss starts near ln(vocab) = ln(1024) ≈ 6.93, as the reference's 6.97
        double loss = o.get("first_loss").asDouble();
        assertTrue(loss > 6.8 && loss < 7.1, "first_loss " + loss);
        assertTrue(o.get("tokens_per_s").asDouble() > 0 && o.get("peak_rss_mb").asDouble() > 0, o.toString());
        // model FLOPs per token, by hand: N = 2·(2·128² + 2·128·2·32 + 3·128·352) + 1,024·128 = 499,712 weights in products,
        // attention 4·2·128·128 = 131,072; LoRA: forward 2N + attention, backward 2N + 2·attention = 2,392,064
        double expected = 2_392_064 * o.get("tokens_per_s").asDouble() / 1e9;
        assertEquals(expected, o.get("model_gflops_per_s").asDouble(), 0.06 + 0.01 * expected, o.toString());
        double busy = o.get("cores_busy").asDouble();                       // CPU time ÷ wall time of the timed step
        assertTrue(busy > 0.2 && busy <= Runtime.getRuntime().availableProcessors() + 0.5, o.toString());
    }

    @Test
    void trainGpt2TinyFullCountsEveryParameter() throws IOException {
        CliTest.Run r = CliTest.run("bench", "train", "--preset", "gpt2-tiny", "--mode", "full", "--steps", "1", "--warmup", "0",
                "--batch", "1", "--seq", "16");
        assertEquals(0, r.status(), r.err());
        JsonNode o = lines(r.out()).get(0);
        long total = o.get("params_total").asLong();
        assertEquals(total, o.get("params_trainable").asLong());
        // GPT-2: wte + wpe (1024 positions) + per layer (2 LayerNorms, c_attn, attn c_proj, c_fc, mlp c_proj, with biases) + ln_f
        int d = 128, ff = 512;
        long layer = 4L * d + (d * 3L * d + 3 * d) + (d * (long) d + d) + (d * (long) ff + ff) + (ff * (long) d + d);
        assertEquals(1024L * d + 1024L * d + 2 * layer + 2 * d, total);
    }

    @Test
    void trainMiniLmIsTheEncoderReferencesClassifier() throws IOException {
        CliTest.Run r = CliTest.run("bench", "train", "--preset", "minilm-l6", "--steps", "1", "--warmup", "0", "--batch", "2", "--seq", "16");
        assertEquals(0, r.status(), r.err());
        JsonNode o = lines(r.out()).get(0);
        assertEquals(List.of("query", "value"), List.of(o.get("targets").get(0).asText(), o.get("targets").get(1).asText()));
        // tools/bench/torch_encoder_reference.py (any batch and seq): params_total 22713986, params_trainable 222338
        // (LoRA r=8 on query/value 73,728 + pooler 147,840 + classifier 770)
        assertEquals(22_713_986, o.get("params_total").asLong());
        assertEquals(222_338, o.get("params_trainable").asLong());
        double loss = o.get("first_loss").asDouble();                       // random weights, 2 labels: near ln 2
        assertTrue(loss > 0.6 && loss < 0.8, "first_loss " + loss);
    }

    @Test
    void trainWithGradientCheckpointingHasTheSameLosses() throws IOException {
        List<JsonNode> runs = new ArrayList<>();
        for (String flag : List.of("--json", "--gradient-checkpointing")) {
            CliTest.Run r = CliTest.run("bench", "train", "--preset", "llama-tiny", "--steps", "2", "--warmup", "0", "--seq", "80", flag);
            assertEquals(0, r.status(), r.err());
            runs.add(lines(r.out()).get(0));
        }
        assertEquals(false, runs.get(0).get("gradient_checkpointing").asBoolean());
        assertEquals(true, runs.get(1).get("gradient_checkpointing").asBoolean());
        assertEquals(runs.get(0).get("last_loss").asDouble(), runs.get(1).get("last_loss").asDouble(), "the same bits, so the same loss after a step");
    }

    @Test
    void gemmTimesTheShapesGiven() throws IOException {
        CliTest.Run r = CliTest.run("bench", "gemm", "--repeats", "1", "--shapes", "abt:64:48:32,atb:8:16:24");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) lines.add(new ObjectMapper().readTree(line));
        assertEquals(2, lines.size(), r.out());
        assertEquals("abt", lines.get(0).get("form").asText());
        assertEquals(48, lines.get(0).get("n").asInt());
        assertEquals(24, lines.get(1).get("k").asInt());
        assertTrue(lines.get(1).get("gflops").asDouble() > 0, r.out());
        CliTest.Run bad = CliTest.run("bench", "gemm", "--shapes", "abt:64:48");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("'abt:64:48' is not FORM:M:N:K") && !bad.err().contains("\tat "), bad.err());
    }

    @Test
    void unknownPresetIsAUsageErrorNamingThePresets() {
        CliTest.Run r = CliTest.run("bench", "generate", "--preset", "gpt3");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("llama-160m") && !r.err().contains("\tat "), r.err());
    }

    @Test
    void generatePrintsThreeVariantsAndTheOverhead() throws IOException {
        CliTest.Run r = CliTest.run("bench", "generate", "--preset", "gpt2-tiny", "--prompt-len", "8", "--new-tokens", "8", "--runs", "1",
                "--json");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> out = lines(r.out());
        assertEquals(4, out.size(), r.out());
        List<String> variants = List.of("base", "merged", "unmerged");
        for (int i = 0; i < 3; i++) {
            JsonNode o = out.get(i);
            for (String f : List.of("variant", "preset", "prompt_len", "new_tokens", "prefill_s", "decode_s", "decode_tokens_per_s", "threads",
                    "peak_rss_mb")) {
                assertTrue(o.has(f), f + " missing from " + o);
            }
            assertEquals(variants.get(i), o.get("variant").asText());
            assertEquals("gpt2-tiny", o.get("preset").asText());
            assertEquals(8, o.get("prompt_len").asInt());
            assertEquals(8, o.get("new_tokens").asInt());
            assertTrue(o.get("decode_s").asDouble() > 0 && o.get("prefill_s").asDouble() > 0, o.toString());
            assertEquals(7 / o.get("decode_s").asDouble(), o.get("decode_tokens_per_s").asDouble(), 0.01 * o.get("decode_tokens_per_s").asDouble());
        }
        JsonNode summary = out.get(3);
        assertTrue(summary.get("unmerged_over_base").asDouble() > 0, summary.toString());
        assertTrue(summary.get("merged_over_base").asDouble() > 0, summary.toString());
        assertTrue(summary.get("merged_equals_unmerged_tokens").asBoolean(), summary.toString());
        assertTrue(summary.get("merged_vs_unmerged_max_abs_logit_diff").asDouble() < 1e-3, summary.toString());
        assertTrue(summary.get("adapter_changes_tokens").asBoolean(), "a random non-zero B should change the greedy tokens: " + summary);
    }

    @Test
    void generateWithControlInterleavesFourVariantsAndReportsTheSpread() throws IOException {
        CliTest.Run r = CliTest.run("bench", "generate", "--preset", "gpt2-tiny", "--prompt-len", "4", "--new-tokens", "4", "--runs", "2",
                "--control");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> out = lines(r.out());
        assertEquals(5, out.size(), r.out());
        assertEquals("base_copy", out.get(3).get("variant").asText());
        for (int i = 0; i < 4; i++) {
            JsonNode o = out.get(i);
            assertEquals("rotated", o.get("order").asText());
            assertTrue(o.get("decode_s_min").asDouble() <= o.get("decode_s").asDouble() && o.get("decode_s").asDouble() <= o.get("decode_s_max").asDouble(), o.toString());
        }
        assertTrue(out.get(4).has("base_copy_over_base"), out.get(4).toString());
    }

    @Test
    void generateOnAGgufFilePrintsTheLlamaCppFields() throws IOException {
        Path gguf = Path.of(System.getProperty("lora4j.testdata", "../testdata"), "gguf", "tiny-qwen2.gguf");
        CliTest.Run r = CliTest.run("bench", "generate", "--model", gguf.toString(), "--prompt-len", "5", "--new-tokens", "3", "--runs", "1");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> out = lines(r.out());
        assertEquals(1, out.size(), r.out());
        JsonNode o = out.get(0);
        for (String f : List.of("prefill_tokens_per_s", "decode_tokens_per_s", "weight_bytes_per_token", "decode_gb_per_s", "threads")) {
            assertTrue(o.has(f), f + " missing from " + o);
        }
        assertTrue(o.get("weight_bytes_per_token").asLong() > 0 && o.get("weight_bytes_per_token").asLong() < Files.size(gguf), o.toString());
    }

    @Test
    void generateLlamaTinyMergedMatchesUnmerged() throws IOException {
        CliTest.Run r = CliTest.run("bench", "generate", "--preset", "llama-tiny", "--prompt-len", "8", "--new-tokens", "8", "--runs", "1");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> out = lines(r.out());
        assertEquals(4, out.size(), r.out());
        assertEquals(List.of("q_proj", "v_proj"), List.of(out.get(2).get("targets").get(0).asText(), out.get(2).get("targets").get(1).asText()));
        assertTrue(out.get(3).get("merged_equals_unmerged_tokens").asBoolean(), out.get(3).toString());
    }
}
