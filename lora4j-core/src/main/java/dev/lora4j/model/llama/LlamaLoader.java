package dev.lora4j.model.llama;

import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Loads Llama-family checkpoints as HF writes them: keys verbatim ({@code model.layers.N....}, {@code lm_head.weight}),
 * the {@code rotary_emb.inv_freq} buffers older files carry ignored, and {@code lm_head.weight} ignored when
 * the head is tied to the embeddings (some tied checkpoints store it, most do not).
 */
public final class LlamaLoader {
    private LlamaLoader() {}

    /**
     * Checks the checkpoint's header against the config before the model is allocated, then builds and loads it, its
     * weights held as {@code holding} says.
     */
    public static LlamaModel load(LlamaConfig config, StateDict.Source source, WeightHolding holding) {
        UnaryOperator<String> toModelKey = key -> {
            String name = modelKey(key);
            return config.tieWordEmbeddings() && "lm_head.weight".equals(name) ? null : name;
        };
        StateDict.requireLayers(source, toModelKey, "model.layers.", config.numHiddenLayers(), "num_hidden_layers");
        StateDict.check(parameterShapes(config), source, toModelKey, name -> false);
        LlamaModel model = new LlamaModel(config);
        StateDict.load(model, source, toModelKey, name -> false, holding.formats(model));
        return model;
    }

    /** The parameters of {@code new LlamaModel(config)}, name → shape, without allocating them. */
    public static Map<String, Shape> parameterShapes(LlamaConfig c) {
        int H = c.hiddenSize(), I = c.intermediateSize(), q = c.numAttentionHeads() * c.headDim(), kv = c.numKeyValueHeads() * c.headDim();
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new Shape(c.vocabSize(), H));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = "model.layers." + i + ".";
            linear(m, l + "self_attn.q_proj", H, q, c.qkvBias());
            linear(m, l + "self_attn.k_proj", H, kv, c.qkvBias());
            linear(m, l + "self_attn.v_proj", H, kv, c.qkvBias());
            linear(m, l + "self_attn.o_proj", q, H, c.oProjBias());
            linear(m, l + "mlp.gate_proj", H, I, c.mlpBias());
            linear(m, l + "mlp.up_proj", H, I, c.mlpBias());
            linear(m, l + "mlp.down_proj", I, H, c.mlpBias());
            m.put(l + "input_layernorm.weight", new Shape(H));
            m.put(l + "post_attention_layernorm.weight", new Shape(H));
        }
        m.put("model.norm.weight", new Shape(H));
        if (!c.tieWordEmbeddings()) m.put("lm_head.weight", new Shape(c.vocabSize(), H));
        return m;
    }

    private static void linear(Map<String, Shape> m, String name, int in, int out, boolean bias) {
        m.put(name + ".weight", new Shape(out, in));
        if (bias) m.put(name + ".bias", new Shape(out));
    }

    /** Checkpoint key → parameter name, or null for the rotary buffers the model recomputes. */
    public static String modelKey(String key) {
        return key.endsWith("rotary_emb.inv_freq") ? null : key;
    }
}
