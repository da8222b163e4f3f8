// Loading Llama-family directories as real files come (tied heads with or without lm_head.weight, rotary
// buffers, every model_type) and failing clearly: strict loading lists every missing, unexpected and
// mis-shaped key; config errors name the file and field.
package dev.lora4j.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaLoaderTest {
    private static final int[] IDS = {1, 5, 200, 42, 7, 300};
    @TempDir
    Path tmp;

    private static float[] logits(CausalLm model) {
        return model.forward(Tape.noGrad(), IDS, 2, 3).data();
    }

    private static Map<String, Tensor> readAll(Path file) {
        Map<String, Tensor> out = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) out.put(n, f.read(n));
        }
        return out;
    }

    /** A copy of {@code fixture}'s directory with its config edited and these weights. */
    private Path copy(String fixture, String name, UnaryOperator<String> config, Map<String, Tensor> weights) throws IOException {
        Path src = TestData.dir(fixture), dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("config.json"), config.apply(Files.readString(src.resolve("config.json"))));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
        return dir;
    }

    @Test
    void tiedHeadsAcceptAStoredLmHeadAndRotaryBuffersAreIgnored() throws IOException {
        Path qwen = TestData.dir("qwen2-golden");
        float[] reference = logits(ModelLoader.load(qwen));
        Map<String, Tensor> w = readAll(qwen.resolve("model.safetensors"));
        w.put("lm_head.weight", w.get("model.embed_tokens.weight"));
        w.put("model.layers.0.self_attn.rotary_emb.inv_freq", Tensor.zeros(4));
        w.put("model.layers.1.self_attn.rotary_emb.inv_freq", Tensor.zeros(4));
        assertArrayEquals(reference, logits(ModelLoader.load(copy("qwen2-golden", "tied", c -> c, w))));
        assertEquals(null, ModelLoader.load(qwen).outputHead());
    }

    @Test
    void strictLoadingListsEveryProblemAtOnce() throws IOException {
        Map<String, Tensor> w = readAll(TestData.dir("llama-golden").resolve("model.safetensors"));
        w.remove("lm_head.weight");
        w.remove("model.layers.1.mlp.up_proj.weight");
        w.put("model.layers.0.self_attn.k_proj.weight", Tensor.zeros(32, 32));
        w.put("model.layers.0.self_attn.q_proj.bias", Tensor.zeros(32));
        Path dir = copy("llama-golden", "broken", c -> c, w);
        String msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
        for (String s : List.of("missing (2)", "lm_head.weight", "model.layers.1.mlp.up_proj.weight", "unexpected (1)",
                "model.layers.0.self_attn.q_proj.bias", "wrong shape (1)",
                "model.layers.0.self_attn.k_proj.weight: checkpoint [32, 32], model expects [16, 32]")) {
            assertTrue(msg.contains(s), "message should contain '" + s + "':\n" + msg);
        }
    }

    @Test
    void configProblemsNameTheFileAndField() throws IOException {
        Map<String, Tensor> w = readAll(TestData.dir("llama-golden").resolve("model.safetensors"));
        String[][] cases = {
                {"\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"", "rope_scaling type 'yarn' is not supported"},
                {"\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act 'gelu' is not supported for llama (expected silu)"},
                {"\"low_freq_factor\": 1.0,", "", "rope_scaling.low_freq_factor is missing"},
                {"\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "num_attention_heads 4 is not a multiple of num_key_value_heads 3"},
                {"\"attention_dropout\": 0.0", "\"attention_dropout\": 0.1", "attention_dropout 0.1 is not supported"},
                {"\"hidden_size\": 32,", "", "missing required field 'hidden_size'"}};
        for (String[] c : cases) {
            Path dir = copy("llama-golden", "cfg" + c[2].hashCode(), s -> {
                assertTrue(s.contains(c[0]), c[0]);
                return s.replace(c[0], c[1]);
            }, w);
            String msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
            assertTrue(msg.contains("config.json") && msg.contains(c[2]), msg);
        }
    }

    @Test
    void familiesReadTheirOwnConfigFields() {
        LlamaConfig llama = ((LlamaModel) ModelLoader.load(TestData.dir("llama-golden"))).config();
        assertEquals(new RopeScaling("llama3", 8, 1, 4, 16), llama.ropeScaling());
        assertEquals(List.of(0, 0), llama.slidingWindows());
        assertTrue(!llama.qkvBias() && !llama.oProjBias() && !llama.mlpBias() && !llama.tieWordEmbeddings());
        LlamaConfig qwen = ((LlamaModel) ModelLoader.load(TestData.dir("qwen2-golden"))).config();
        assertEquals("linear", qwen.ropeScaling().type());
        assertEquals(List.of(0, 0), qwen.slidingWindows(), "sliding_window 4 without use_sliding_window does not apply");
        assertTrue(qwen.qkvBias() && !qwen.oProjBias() && qwen.tieWordEmbeddings());
        assertEquals(501, qwen.eosTokenId().getAsInt());
        CausalLm mistral = ModelLoader.load(TestData.dir("mistral-golden"));
        LlamaConfig m = ((LlamaModel) mistral).config();
        assertEquals(List.of(6, 6), m.slidingWindows());
        assertEquals(12, m.headDim());
        assertEquals("mistral", mistral.modelType());
        assertEquals(Map.of("num_hidden_layers", 2, "hidden_size", 32, "num_attention_heads", 4, "num_key_value_heads", 1, "head_dim", 12,
                "intermediate_size", 64, "vocab_size", 256, "max_position_embeddings", 64), mistral.sizes());
    }
}
