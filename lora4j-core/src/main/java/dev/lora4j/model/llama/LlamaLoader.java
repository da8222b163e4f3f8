package dev.lora4j.model.llama;

import dev.lora4j.io.WeightStore;
import dev.lora4j.nn.StateDict;

/**
 * Loads Llama-family checkpoints as HF writes them: keys verbatim ({@code model.layers.N....}, {@code lm_head.weight}),
 * the {@code rotary_emb.inv_freq} buffers older files carry ignored, and {@code lm_head.weight} ignored when
 * the head is tied to the embeddings (some tied checkpoints store it, most do not).
 */
public final class LlamaLoader {
    private LlamaLoader() {}

    public static LlamaModel load(LlamaConfig config, WeightStore weights) {
        LlamaModel model = new LlamaModel(config);
        StateDict.load(model, weights, key -> {
            String name = modelKey(key);
            return config.tieWordEmbeddings() && "lm_head.weight".equals(name) ? null : name;
        });
        return model;
    }

    /** Checkpoint key → parameter name, or null for the rotary buffers the model recomputes. */
    public static String modelKey(String key) {
        return key.endsWith("rotary_emb.inv_freq") ? null : key;
    }
}
