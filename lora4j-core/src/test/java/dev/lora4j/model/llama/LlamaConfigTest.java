// LlamaConfig.from against the rules of HF's configuration_llama.py, _mistral.py and _qwen2.py: defaults,
// per-layer sliding windows, eos lists, the rope_scaling spellings and the newer rope_parameters object.
package dev.lora4j.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class LlamaConfigTest {
    private static LlamaConfig parse(String type, String extra) {
        String json = "{\"model_type\": \"" + type + "\", \"vocab_size\": 100, \"hidden_size\": 16, \"intermediate_size\": 40,"
                + " \"num_hidden_layers\": 3, \"num_attention_heads\": 4" + (extra.isEmpty() ? "" : ", " + extra) + "}";
        return LlamaConfig.from(HfConfig.parse(json, "config.json"));
    }

    @Test
    void defaultsFollowTheHfConfigClasses() {
        LlamaConfig c = parse("llama", "");
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(4, c.headDim());
        assertEquals(1e-6f, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertNull(c.ropeScaling());
        assertEquals(2048, c.maxPositionEmbeddings());
        assertEquals(List.of(0, 0, 0), c.slidingWindows());
        assertTrue(c.eosTokenId().isEmpty());
        assertEquals(32768, parse("qwen2", "").maxPositionEmbeddings());
        assertEquals(List.of(4096, 4096, 4096), parse("mistral", "").slidingWindows(), "MistralConfig's default window");
        assertEquals(List.of(0, 0, 0), parse("mistral", "\"sliding_window\": null").slidingWindows());
        assertEquals(2, parse("llama", "\"head_dim\": 2").headDim());
        assertTrue(parse("llama", "\"attention_bias\": true, \"mlp_bias\": true").oProjBias());
        assertEquals(128001, parse("llama", "\"eos_token_id\": [128001, 128008, 128009]").eosTokenId().getAsInt());
    }

    @Test
    void qwen2SlidingWindowsNeedUseSlidingWindowAndPickLayers() {
        assertEquals(List.of(0, 0, 0), parse("qwen2", "\"sliding_window\": 8, \"max_window_layers\": 1").slidingWindows());
        assertEquals(List.of(0, 8, 8), parse("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 8, \"max_window_layers\": 1")
                .slidingWindows());
        assertEquals(List.of(8, 0, 8), parse("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 8,"
                + " \"layer_types\": [\"sliding_attention\", \"full_attention\", \"sliding_attention\"]").slidingWindows());
        String msg = assertThrows(Lora4jException.class, () -> parse("qwen2", "\"use_sliding_window\": true,"
                + " \"layer_types\": [\"full_attention\", \"chunked_attention\", \"full_attention\"]")).getMessage();
        assertTrue(msg.contains("config.json: layer_types[1] is 'chunked_attention'"), msg);
    }

    @Test
    void ropeScalingSpellings() {
        assertNull(parse("llama", "\"rope_scaling\": {\"rope_type\": \"default\"}").ropeScaling());
        assertEquals(new RopeScaling("linear", 4, Double.NaN, Double.NaN, 0), parse("llama", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 4}").ropeScaling());
        LlamaConfig v5 = parse("llama", "\"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 2.0, \"rope_theta\": 500000.0}");
        assertEquals(500000.0, v5.ropeTheta());
        assertEquals("linear", v5.ropeScaling().type());
        for (String bad : List.of("\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}", "\"rope_scaling\": {\"factor\": 2.0}",
                "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 1,"
                        + " \"original_max_position_embeddings\": 16}")) {
            String msg = assertThrows(Lora4jException.class, () -> parse("llama", bad)).getMessage();
            assertTrue(msg.startsWith("config.json: rope_scaling"), msg);
        }
    }

    @Test
    void llama3ScalingKeepsHighDividesLowAndBlendsTheMiddle() {
        RopeScaling s = new RopeScaling("llama3", 8, 1, 4, 100);   // wavelengths below 25 kept, above 100 divided
        float[] f = {1f, 0.2f, 0.1f, 0.01f};                        // wavelengths 6.3, 31.4, 62.8, 628
        float[] scaled = s.apply(f);
        double f1 = f[1], smooth = (100 / (2 * Math.PI / f1) - 1) / 3;
        assertArrayEquals(new float[] {1f, (float) ((1 - smooth) * f1 / 8 + smooth * f1), scaled[2], 0.01f / 8}, scaled, 1e-9f);
        assertTrue(scaled[2] > 0.1f / 8 && scaled[2] < 0.1f);
    }
}
