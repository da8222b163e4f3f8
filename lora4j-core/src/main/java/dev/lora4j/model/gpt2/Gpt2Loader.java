package dev.lora4j.model.gpt2;

import dev.lora4j.io.WeightStore;
import dev.lora4j.nn.StateDict;
import java.util.regex.Pattern;

/**
 * Loads GPT-2 checkpoints as HF writes them: keys with or without the {@code transformer.} prefix, the
 * {@code h.N.attn.bias} / {@code masked_bias} causal-mask buffers ignored, and {@code lm_head.weight}
 * ignored because the head is tied to {@code wte}.
 */
public final class Gpt2Loader {
    private static final Pattern BUFFER = Pattern.compile("h\\.\\d+\\.attn\\.(bias|masked_bias)");

    private Gpt2Loader() {}

    public static Gpt2Model load(Gpt2Config config, WeightStore weights) {
        Gpt2Model model = new Gpt2Model(config);
        StateDict.load(model, weights, Gpt2Loader::modelKey);
        return model;
    }

    /** Checkpoint key → parameter name, or null for tensors the model does not keep. */
    public static String modelKey(String key) {
        String k = key.startsWith("transformer.") ? key.substring("transformer.".length()) : key;
        if (BUFFER.matcher(k).matches() || k.equals("lm_head.weight")) return null;
        return k;
    }
}
