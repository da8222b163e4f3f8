package dev.lora4j.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.Output;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.io.gguf.GgufWriter;
import dev.lora4j.model.GgufExport;
import dev.lora4j.model.GgufFamily;
import dev.lora4j.model.GgufToHf;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.model.llama.LlamaGgufNames;
import dev.lora4j.model.llama.RopeScaling;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.ChatTemplate;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A GGUF written by lora4j (testdata/gguf/tiny-*.gguf, made by {@code lora4j to-gguf}, tools/golden/gguf_models.sh) is the
 * same model as the Hugging Face directory it came from: the q/k permutation is undone exactly (same logits, bit for bit,
 * and the same q_proj weights), the tokenizer built from tokenizer.ggml.* gives the ids of the HF tokenizer.json, and the
 * chat template and end-of-text token come along.
 */
class GgufModelTest {
    private static final List<String> TEXTS = List.of("Call me Ishmael. Some years ago—never mind how long precisely—",
            "  two  spaces, tabs\tand\nnew lines; numbers 1851 and 42!", "Ünïcödé and emoji 🐋 fall back to bytes",
            "<|im_start|>user\nhi<|im_end|>", "whale whaling whales");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2"})
    void ggufIsTheSameModelAsItsHfDirectory(String name) {
        Path hf = TestData.dir("gguf").resolve(name), gguf = TestData.dir("gguf").resolve(name + ".gguf");
        CausalLm a = ModelLoader.load(hf), b = ModelLoader.load(gguf);
        assertEquals(a.module().namedParameters().keySet(), b.module().namedParameters().keySet());
        a.module().namedParameters().forEach((k, t) -> assertArrayEquals(t.data(), b.module().namedParameters().get(k).data(), k));
        int[] ids = {1, 40, 300, 7, 99, 250, 12, 3};
        assertArrayEquals(a.forward(Tape.noGrad(), ids, 1, ids.length).data(), b.forward(Tape.noGrad(), ids, 1, ids.length).data());
        assertEquals(a.eosTokenId(), b.eosTokenId());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2"})
    void tokenizerFromGgufGivesTheIdsOfTokenizerJson(String name) {
        Path hf = TestData.dir("gguf").resolve(name), gguf = TestData.dir("gguf").resolve(name + ".gguf");
        try (Tokenizer a = Tokenizer.load(hf); Tokenizer b = Tokenizer.load(gguf)) {
            for (String text : TEXTS) {
                assertArrayEquals(a.encode(text), b.encode(text), text);
                assertEquals(a.decode(a.encode(text)), b.decode(b.encode(text)), text);
            }
        }
    }

    @Test
    void chatTemplateAndSpecialTokensComeFromTheGguf() {
        Path hf = TestData.dir("gguf").resolve("tiny-qwen2"), gguf = TestData.dir("gguf").resolve("tiny-qwen2.gguf");
        List<Map<String, String>> chat = List.of(Map.of("role", "user", "content", "Hello"), Map.of("role", "assistant", "content", "Ahoy"));
        assertEquals(ChatTemplate.load(hf).render(chat, true), ChatTemplate.load(gguf).render(chat, true));
        assertThrows(Lora4jException.class, () -> ChatTemplate.load(TestData.dir("gguf").resolve("tiny-llama.gguf")));
    }

    /** The permutation llama.cpp's converter applies, written out: GGUF row h·hd + 2j + s is HF row h·hd + s·hd/2 + j. */
    @Test
    void qkRowsArePermutedAsTheConverterDoes() {
        int heads = 2, hd = 8, rows = heads * hd;
        int[] hfOfGguf = LlamaGgufNames.ggufRowsFromHf(rows, heads);
        assertArrayEquals(new int[] {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15}, hfOfGguf);
        int[] back = LlamaGgufNames.hfRowsFromGguf(rows, heads);
        for (int r = 0; r < rows; r++) assertEquals(r, hfOfGguf[back[r]]);
        try (GgufFile f = GgufFile.open(TestData.dir("gguf").resolve("tiny-llama.gguf"))) {
            float[] q = ((WeightStorage.F32) f.read("blk.0.attn_q.weight")).values();
            Tensor hf = ModelLoader.load(TestData.dir("gguf").resolve("tiny-llama")).module().namedParameters().get("model.layers.0.self_attn.q_proj.weight");
            int in = hf.dim(1), hd16 = 16;
            for (int g = 0; g < hf.dim(0); g++) {                       // GGUF row 2j + s of head h holds HF row h·16 + s·8 + j
                int h = g / hd16, j = (g % hd16) / 2, s = g % 2;
                for (int i = 0; i < in; i++) assertEquals(hf.data()[(h * hd16 + s * hd16 / 2 + j) * in + i], q[g * in + i]);
            }
        }
    }

    @Test
    void q8_0GgufLoadsQuantizedAndWidensExactly() throws IOException {
        Path q8 = dir.resolve("q8.gguf");
        CausalLm f32 = ModelLoader.load(TestData.dir("gguf").resolve("tiny-llama"));
        GgufExport.write(q8, f32, TestData.dir("gguf").resolve("tiny-llama"), GgmlType.Q8_0);
        CausalLm m = ModelLoader.load(q8);
        Tensor w = m.module().namedParameters().get("model.layers.1.mlp.down_proj.weight");
        assertInstanceOf(dev.lora4j.tensor.Q8_0.class, w.storage());
        byte[] expected = dev.lora4j.tensor.Q8_0.quantize(f32.module().namedParameters().get("model.layers.1.mlp.down_proj.weight").data()).blocks();
        assertArrayEquals(expected, ((dev.lora4j.tensor.Q8_0) w.storage()).blocks());
        assertTrue(m.module().namedParameters().get("model.norm.weight").isFloat32());
    }

    @Test
    void unsupportedArchitecturesAndTensorsAreNamed() throws IOException {
        Path p = dir.resolve("gpt2.gguf");
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string("gpt2"));
        GgufWriter.write(p, kv, List.of());
        Lora4jException e = assertThrows(Lora4jException.class, () -> ModelLoader.load(p));
        assertTrue(e.getMessage().contains("general.architecture 'gpt2' is not supported (supported: llama, qwen2)"), e.getMessage());
        kv.put("general.architecture", GgufValue.string("llama"));
        GgufWriter.write(p, kv, List.of());
        e = assertThrows(Lora4jException.class, () -> ModelLoader.load(p));
        assertTrue(e.getMessage().contains("metadata key 'llama.attention.head_count' is missing"), e.getMessage());
    }

    /**
     * A llama with Llama 3.1's rope_scaling goes to GGUF as convert_hf_to_gguf.py writes it (rope_freqs.weight: 1, the
     * blended 1 / ((1 − smooth)/8 + smooth), then 8), reads back as the same model (the factors divide the inverse
     * frequencies: logits within 1e-5 of the HF directory's, past original_max_position_embeddings), is written back
     * with the same factors, and cannot become a Hugging Face directory: config.json has no spelling for them unless
     * they are those of Meta's llama3 parameters (low 1, high 4, original 8192), then rope_scaling is recovered.
     */
    @Test
    void llama3RopeScalingTravelsAsRopeFreqs() throws IOException {
        Path hf = Llama3RopeModel.write(dir.resolve("hf")), gguf = dir.resolve("llama3.gguf"), again = dir.resolve("again.gguf");
        CausalLm a = ModelLoader.load(hf);
        GgufExport.write(gguf, a, hf, GgmlType.F32);
        float[] factors;
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals(new Shape(8), f.shape("rope_freqs.weight"));
            factors = new float[8];
            f.read("rope_freqs.weight").widen(0, factors, 0, 8);
            assertTrue(!f.has("llama.rope.scaling.type"), "llama3 scaling has no rope.scaling.* metadata");
            Lora4jException e = assertThrows(Lora4jException.class, () -> GgufFamily.of(f).hfConfig(f));
            assertTrue(e.getMessage().contains("tensor 'rope_freqs.weight'") && e.getMessage().contains("config.json"), e.getMessage());
        }
        Path meta = Llama3RopeModel.write(dir.resolve("meta"), 8192), metaGguf = dir.resolve("meta.gguf");
        GgufExport.write(metaGguf, ModelLoader.load(meta), meta, GgmlType.F32);
        try (GgufFile f = GgufFile.open(metaGguf)) {
            HfConfig c = GgufFamily.of(f).hfConfig(f);
            assertEquals(new RopeScaling("llama3", 8, 1, 4, 8192), LlamaConfig.from(c).ropeScaling());
        }
        Path hfBack = dir.resolve("back");
        try (Output out = Output.directory(hfBack, Output.Kind.MODEL, Output.Mode.NEW, List.of(metaGguf))) {
            GgufToHf.save(metaGguf, ModelLoader.load(metaGguf), out);
        }
        assertTrue(maxDifference(logits(ModelLoader.load(meta)), logits(ModelLoader.load(hfBack))) < 1e-5, "HF -> GGUF -> HF logits");
        double wavelen1 = 2 * Math.PI * Math.pow(10000, 2.0 / 16), smooth = (32 / wavelen1 - 1) / 3;
        assertArrayEquals(new float[] {1, (float) (1 / ((1 - smooth) / 8 + smooth)), 8, 8, 8, 8, 8, 8}, factors, 1e-6f);
        CausalLm b = ModelLoader.load(gguf);
        double max = maxDifference(logits(a), logits(b));
        assertTrue(max < 1e-5, "GGUF vs HF logits differ by " + max);
        GgufExport.write(again, b, gguf, GgmlType.F32);
        try (GgufFile f = GgufFile.open(again)) {
            float[] back = new float[8];
            f.read("rope_freqs.weight").widen(0, back, 0, 8);
            assertArrayEquals(factors, back);
        }
    }

    /** Logits of 48 positions (past original_max_position_embeddings 32). */
    private static float[] logits(CausalLm m) {
        int[] ids = new int[48];
        for (int t = 0; t < ids.length; t++) ids[t] = (t * 37 + 5) % 442;
        return m.forward(Tape.noGrad(), ids, 1, ids.length).data();
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        return max;
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "nan", "zero"})
    void badRopeFreqsAreNamed(String how) throws IOException {
        Path bad = dir.resolve("bad.gguf");
        float[] factors = how.equals("length") ? new float[] {1, 2, 4} : new float[] {1, 2, 4, 8, 8, 8, 8, how.equals("nan") ? Float.NaN : 0};
        Llama3RopeModel.withRopeFreqs(TestData.dir("gguf").resolve("tiny-llama.gguf"), bad, factors);
        Lora4jException e = assertThrows(Lora4jException.class, () -> ModelLoader.load(bad));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("'rope_freqs.weight'"), e.getMessage());
        assertTrue(e.getMessage().contains(switch (how) {
            case "length" -> "expected [8] (head_dim / 2)";
            case "nan" -> "NaN or infinite";
            default -> "factor 7 is 0.0, expected a positive finite number";
        }), e.getMessage());
    }
}
