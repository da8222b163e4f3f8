package dev.lora4j.model.gpt2;

import dev.lora4j.io.WeightStore;
import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Loads GPT-2 checkpoints as HF writes them: keys with or without the {@code transformer.} prefix, the
 * {@code h.N.attn.bias} / {@code masked_bias} causal-mask buffers ignored, and {@code lm_head.weight}
 * ignored because the head is tied to {@code wte}.
 */
public final class Gpt2Loader {
    private static final Pattern BUFFER = Pattern.compile("h\\.\\d+\\.attn\\.(bias|masked_bias)");

    private Gpt2Loader() {}

    /**
     * Checks the checkpoint's header against the config before the model is allocated, then builds and loads it, its
     * weights held as {@code holding} says.
     */
    public static Gpt2Model load(Gpt2Config config, WeightStore weights, WeightHolding holding) {
        StateDict.Source source = StateDict.Source.of(weights);
        StateDict.requireLayers(source, Gpt2Loader::modelKey, "h.", config.nLayer(), "n_layer");
        StateDict.check(parameterShapes(config), source, Gpt2Loader::modelKey, name -> false);
        Gpt2Model model = new Gpt2Model(config);
        StateDict.load(model, source, Gpt2Loader::modelKey, name -> false, holding.formats(model));
        return model;
    }

    /** The parameters of {@code new Gpt2Model(config)}, name → shape, without allocating them. Conv1D weights are (in, out). */
    public static Map<String, Shape> parameterShapes(Gpt2Config config) {
        int C = config.nEmbd(), inner = config.nInner();
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("wte.weight", new Shape(config.vocabSize(), C));
        m.put("wpe.weight", new Shape(config.nPositions(), C));
        for (int i = 0; i < config.nLayer(); i++) {
            String h = "h." + i + ".";
            m.put(h + "ln_1.weight", new Shape(C));
            m.put(h + "ln_1.bias", new Shape(C));
            m.put(h + "attn.c_attn.weight", new Shape(C, 3 * C));
            m.put(h + "attn.c_attn.bias", new Shape(3 * C));
            m.put(h + "attn.c_proj.weight", new Shape(C, C));
            m.put(h + "attn.c_proj.bias", new Shape(C));
            m.put(h + "ln_2.weight", new Shape(C));
            m.put(h + "ln_2.bias", new Shape(C));
            m.put(h + "mlp.c_fc.weight", new Shape(C, inner));
            m.put(h + "mlp.c_fc.bias", new Shape(inner));
            m.put(h + "mlp.c_proj.weight", new Shape(inner, C));
            m.put(h + "mlp.c_proj.bias", new Shape(C));
        }
        m.put("ln_f.weight", new Shape(C));
        m.put("ln_f.bias", new Shape(C));
        return m;
    }

    /** Checkpoint key → parameter name, or null for tensors the model does not keep. */
    public static String modelKey(String key) {
        String k = key.startsWith("transformer.") ? key.substring("transformer.".length()) : key;
        if (BUFFER.matcher(k).matches() || k.equals("lm_head.weight")) return null;
        return k;
    }
}
