package dev.lora4j.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufValueType;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.GgufAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.Merger;
import dev.lora4j.model.GgufExport;
import dev.lora4j.model.ModelFamily;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.KvCache;
import dev.lora4j.testing.LlamaCpp;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The GGUF files lora4j writes, checked with the real llama.cpp (node-llama-cpp 3.21.1, see {@link LlamaCpp}): llama.cpp
 * tokenizes as lora4j does, and its next-token log-probabilities (F32 KV cache, temperature 0: an exact softmax)
 * agree with lora4j's within 1e-4 at every position, for the model, the model with an adapter merged, and the base
 * with the adapter GGUF applied at run time (lora4j: the PEFT adapter, unmerged). With Q8_0 weights llama.cpp also
 * quantizes the activations, so there lora4j's full forward (exact products) is compared on the greedy (top-1) tokens,
 * and its batch-1 decoding, which quantizes each activation row as llama.cpp does, on the log-probabilities.
 */
@Tag("llama-cpp")
class LlamaCppReferenceTest {
    private static final String TEXT = "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money";
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    private static Path fixture(String name) {
        return TestData.dir("gguf").resolve(name);
    }

    /** lora4j's next-token log-probabilities at every position of {@code ids}. */
    private static float[][] logProbs(CausalLm model, int[] ids) {
        float[] logits = model.forward(Tape.noGrad(), ids, 1, ids.length).data();
        int V = model.vocabSize();
        float[][] out = new float[ids.length][];
        for (int t = 0; t < ids.length; t++) out[t] = logSoftmax(logits, t * V, V);
        return out;
    }

    /** log softmax of logits[off, off + V), in double precision. */
    private static float[] logSoftmax(float[] logits, int off, int V) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int v = 0; v < V; v++) max = Math.max(max, logits[off + v]);
        for (int v = 0; v < V; v++) sum += Math.exp(logits[off + v] - max);
        float[] out = new float[V];
        for (int v = 0; v < V; v++) out[v] = (float) (logits[off + v] - max - Math.log(sum));
        return out;
    }

    /** Max |log p − log q| over positions and the tokens llama.cpp gives a probability above 1e-6. */
    private static double maxLogProbDifference(float[][] mine, float[][] llama) {
        assertEquals(mine.length, llama.length);
        double max = 0;
        int compared = 0;
        for (int t = 0; t < mine.length; t++) {
            for (int v = 0; v < mine[t].length; v++) {
                if (llama[t][v] > 1e-6) {
                    max = Math.max(max, Math.abs(mine[t][v] - Math.log(llama[t][v])));
                    compared++;
                }
            }
        }
        assertTrue(compared > mine.length * 20, "only " + compared + " probabilities above 1e-6");
        return max;
    }

    private static int[] ids(Path model) {
        try (Tokenizer t = Tokenizer.load(model)) {
            return t.encode(TEXT);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2"})
    void llamaCppAgreesWithLora4jOnTheGgufItWrote(String name) throws Exception {
        Path gguf = fixture(name + ".gguf");
        int[] ids = ids(gguf);
        LlamaCpp.Result r = LlamaCpp.run(gguf, null, List.of(TEXT), List.of(ids));
        assertArrayEquals(ids, r.tokens().getFirst(), "llama.cpp's tokenization");
        double d = maxLogProbDifference(logProbs(ModelLoader.load(gguf), ids), r.probabilities().getFirst());
        assertTrue(d < TOLERANCE, name + ": log-probabilities differ by " + d);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2"})
    void adapterGgufAppliedByLlamaCppAgreesWithTheUnmergedPeftAdapter(String name) throws Exception {
        Path base = fixture(name), adapter = fixture(name + "-lora"), lora = dir.resolve("adapter.gguf");
        CausalLm model = ModelLoader.load(base);
        AdapterIO.load(adapter, model);
        GgufAdapter.write(lora, model, LoraConfig.read(adapter.resolve(AdapterIO.CONFIG_FILE)));
        int[] ids = ids(base);
        float[][] mine = logProbs(model, ids);
        LlamaCpp.Result r = LlamaCpp.run(fixture(name + ".gguf"), lora, List.of(), List.of(ids));
        double d = maxLogProbDifference(mine, r.probabilities().getFirst());
        assertTrue(d < TOLERANCE, name + " + adapter: log-probabilities differ by " + d);
        double base0 = maxLogProbDifference(logProbs(ModelLoader.load(base), ids), r.probabilities().getFirst());
        assertTrue(base0 > 100 * TOLERANCE, "the adapter changes the distributions (by " + base0 + ")");

        Path merged = dir.resolve("merged.gguf");
        Merger.merge(model);
        GgufExport.write(merged, model, base, GgmlType.F32);
        r = LlamaCpp.run(merged, null, List.of(), List.of(ids));
        d = maxLogProbDifference(mine, r.probabilities().getFirst());
        assertTrue(d < TOLERANCE, name + " merged: log-probabilities differ by " + d);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2"})
    void q8_0GgufGivesLlamaCppsGreedyTokens(String name) throws Exception {
        Path base = fixture(name), q8 = dir.resolve("q8.gguf");
        GgufExport.write(q8, ModelLoader.load(base), base, GgmlType.Q8_0);
        int[] ids = ids(base);
        float[][] mine = logProbs(ModelLoader.load(q8), ids), llama = LlamaCpp.run(q8, null, List.of(), List.of(ids)).probabilities().getFirst();
        int agree = 0;
        for (int t = 0; t < ids.length; t++) if (argmax(mine[t]) == argmax(llama[t])) agree++;
        assertEquals(ids.length, agree, name + " Q8_0: top-1 tokens agree at " + agree + " of " + ids.length + " positions");
    }

    /**
     * Decoding one token at a time through the KV cache, every product a one-row product: on Q8_0 weights lora4j then
     * quantizes each activation row to Q8_0 and takes integer block dot products as llama.cpp does, so the
     * log-probabilities agree within the F32 tolerance (the full forward, activations unquantized, is off by 0.4 to 1.5).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2"})
    void q8_0BatchOneDecodingGivesLlamaCppsLogProbabilities(String name) throws Exception {
        Path base = fixture(name), q8 = dir.resolve("q8.gguf");
        GgufExport.write(q8, ModelLoader.load(base), base, GgmlType.Q8_0);
        int[] ids = ids(base);
        CausalLm model = ModelLoader.load(q8);
        KvCache cache = model.newKvCache(ids.length);
        int V = model.vocabSize();
        float[][] mine = new float[ids.length][];
        for (int t = 0; t < ids.length; t++) mine[t] = logSoftmax(model.forwardCached(new int[] {ids[t]}, cache).data(), 0, V);
        double d = maxLogProbDifference(mine, LlamaCpp.run(q8, null, List.of(), List.of(ids)).probabilities().getFirst());
        assertTrue(d < TOLERANCE, name + " Q8_0, decoded token by token: log-probabilities differ by " + d);
    }

    /**
     * A llama whose tokenizer is GPT-2's byte-level BPE (50,257 ids, llama.cpp's pre-tokenizer "gpt-2") plus a special
     * token kept outside the BPE vocabulary (as Qwen2's and Llama 3's added tokens are), and whose embedding has more
     * rows (50,304) than the tokenizer has ids: to-gguf writes one token per row as llama.cpp's converter does ("[PAD<id>]",
     * UNUSED), so llama.cpp loads the file, tokenizes as lora4j does and agrees on the log-probabilities.
     */
    @Test
    void aVocabularyShorterThanTheEmbeddingIsPaddedAndGpt2sPreTokenizerNamedAsLlamaCppNamesIt() throws Exception {
        Path hf = Files.createDirectories(dir.resolve("hf")), gguf = dir.resolve("padded.gguf");
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode tokenizer = (ObjectNode) mapper.readTree(TestData.dir("gpt2-tiny").resolve("tokenizer.json").toFile());
        ((ArrayNode) tokenizer.get("added_tokens")).addObject().put("id", 50257).put("content", "<|im_start|>").put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        Files.writeString(hf.resolve("tokenizer.json"), tokenizer.toString());
        String config = """
                {"model_type": "llama", "vocab_size": 50304, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                 "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                 "max_position_embeddings": 128, "tie_word_embeddings": false, "bos_token_id": 50256, "eos_token_id": 50256}""";
        Files.writeString(hf.resolve("config.json"), config);
        HfConfig c = HfConfig.parse(config, "config.json");
        CausalLm model = ModelFamily.of(c).randomCausalLm(c, 3);
        GgufExport.write(gguf, model, hf, GgmlType.F32);
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals("gpt-2", f.string("tokenizer.ggml.pre"));
            List<?> tokens = f.array("tokenizer.ggml.tokens", GgufValueType.STRING), types = f.array("tokenizer.ggml.token_type", GgufValueType.INT32);
            assertEquals(50_304, tokens.size());
            assertEquals(List.of("<|endoftext|>", "<|im_start|>", "[PAD50258]", "[PAD50303]"),
                    List.of(tokens.get(50256), tokens.get(50257), tokens.get(50258), tokens.get(50303)));
            assertEquals(List.of(3L, 3L, 5L, 1L), List.of(types.get(50256), types.get(50257), types.get(50303), types.get(0)));   // CONTROL, UNUSED, NORMAL
        }
        int[] ids = ids(hf);
        assertArrayEquals(ids, ids(gguf), "the GGUF's vocabulary tokenizes as the tokenizer.json");
        LlamaCpp.Result r = LlamaCpp.run(gguf, null, List.of(TEXT), List.of(ids));
        assertArrayEquals(ids, r.tokens().getFirst(), "llama.cpp's tokenization");
        double d = maxLogProbDifference(logProbs(model, ids), r.probabilities().getFirst());
        assertTrue(d < TOLERANCE, "log-probabilities differ by " + d);
    }

    /**
     * A llama with Llama 3.1's rope_scaling ({@link Llama3RopeModel}) written by to-gguf carries rope_freqs.weight, and
     * llama.cpp, which divides its RoPE frequencies by them, agrees within 1e-4 with lora4j on both the HF directory
     * (HF's llama3 formula) and the GGUF (the factors). Without the scaling the distributions are far off, so the
     * factors are what makes them agree.
     */
    @Test
    void llama3RopeScalingWrittenAsRopeFreqsIsLlamaCppsToo() throws Exception {
        Path hf = Llama3RopeModel.write(dir.resolve("hf")), gguf = dir.resolve("llama3.gguf");
        CausalLm model = ModelLoader.load(hf);
        GgufExport.write(gguf, model, hf, GgmlType.F32);
        int[] ids = ids(hf);
        assertTrue(ids.length > 32, "positions past original_max_position_embeddings (32): " + ids.length);
        float[][] llama = LlamaCpp.run(gguf, null, List.of(), List.of(ids)).probabilities().getFirst();
        double d = maxLogProbDifference(logProbs(model, ids), llama);
        assertTrue(d < TOLERANCE, "HF directory: log-probabilities differ by " + d);
        d = maxLogProbDifference(logProbs(ModelLoader.load(gguf), ids), llama);
        assertTrue(d < TOLERANCE, "GGUF: log-probabilities differ by " + d);
        double unscaled = maxLogProbDifference(logProbs(ModelLoader.load(fixture("tiny-llama")), ids), llama);
        assertTrue(unscaled > 100 * TOLERANCE, "the scaling changes the distributions (by " + unscaled + ")");
    }

    /**
     * A GGUF written here (llama, hidden 256 so rows are whole k-quant blocks, tiny-llama's vocabulary) whose token
     * embedding is random blocks of a k-quant type and every other tensor F32: llama.cpp dequantizes the embedding rows
     * exactly (get_rows), so its log-probabilities must agree with lora4j's within 1e-4. With every matrix quantized
     * (Q4_K, Q5_K, Q6_K in turn) llama.cpp quantizes the activations too, so there the top-1 tokens are compared, at
     * the positions where lora4j's top two are not nearly tied. (Q8_0 and Q4_0 blocks are checked against gguf-py in
     * GgufQuantsTest, and a Q8_0 model against llama.cpp above.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q4_K", "Q5_K", "Q6_K", "all"})
    void quantizedTensorsAreReadAsLlamaCppReadsThem(String type) throws Exception {
        Path gguf = dir.resolve("q.gguf");
        KQuantModel.write(gguf, fixture("tiny-llama.gguf"), type);
        int[] ids = ids(fixture("tiny-llama.gguf"));
        float[][] mine = logProbs(ModelLoader.load(gguf), ids), llama = LlamaCpp.run(gguf, null, List.of(), List.of(ids)).probabilities().getFirst();
        if (!type.equals("all")) {
            double d = maxLogProbDifference(mine, llama);
            assertTrue(d < TOLERANCE, type + " token embedding: log-probabilities differ by " + d);
            return;
        }
        int compared = 0;
        for (int t = 0; t < ids.length; t++) {
            float[] sorted = mine[t].clone();
            java.util.Arrays.sort(sorted);
            if (sorted[sorted.length - 1] - sorted[sorted.length - 2] < 0.1f) continue;
            assertEquals(argmax(mine[t]), argmax(llama[t]), "top-1 token at position " + t);
            compared++;
        }
        assertTrue(compared >= ids.length / 2, "only " + compared + " of " + ids.length + " positions had a clear top-1");
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
