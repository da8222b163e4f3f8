package dev.lora4j.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;

/**
 * Hyper-parameters of the Llama family, with the field meanings and defaults of HF LlamaConfig,
 * MistralConfig and Qwen2Config (configuration_llama.py, _mistral.py, _qwen2.py). The biases follow each
 * family's modeling file: llama's {@code attention_bias} puts a bias on q/k/v/o and {@code mlp_bias} on the
 * MLP; qwen2 always has q/k/v biases and no o_proj bias; mistral has none. {@code slidingWindows} holds one
 * window per layer (0 = full causal attention): Mistral's {@code sliding_window} on every layer, Qwen2's
 * only with {@code use_sliding_window} on the layers {@code layer_types} (or {@code max_window_layers}) names.
 */
public record LlamaConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, float rmsNormEps, double ropeTheta,
                          RopeScaling ropeScaling, int maxPositionEmbeddings, boolean tieWordEmbeddings, boolean qkvBias,
                          boolean oProjBias, boolean mlpBias, List<Integer> slidingWindows, OptionalInt bosTokenId,
                          OptionalInt eosTokenId) {
    public LlamaConfig {
        if (vocabSize <= 0 || hiddenSize <= 0 || intermediateSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0
                || numKeyValueHeads <= 0 || headDim <= 0 || maxPositionEmbeddings <= 0) {
            throw new IllegalArgumentException("Llama sizes must be positive");
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads + " is not a multiple of num_key_value_heads "
                    + numKeyValueHeads);
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim " + headDim + " is odd: rotary embeddings need pairs");
        if ((long) numAttentionHeads * headDim > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("num_attention_heads × head_dim = " + (long) numAttentionHeads * headDim + " exceeds " + Integer.MAX_VALUE);
        }
        if (!(rmsNormEps > 0) || Float.isInfinite(rmsNormEps)) throw new IllegalArgumentException("rms_norm_eps " + rmsNormEps + " is not a positive finite float32");
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) throw new IllegalArgumentException("rope_theta " + ropeTheta + " is not a positive finite number");
        slidingWindows = List.copyOf(slidingWindows);
        if (slidingWindows.size() != numHiddenLayers || slidingWindows.stream().anyMatch(w -> w < 0)) {
            throw new IllegalArgumentException("need one sliding window ≥ 0 per layer, got " + slidingWindows);
        }
    }

    /** The sliding window of {@code layer}: the number of most recent positions a query sees; 0 = all. */
    public int slidingWindow(int layer) {
        return slidingWindows.get(layer);
    }

    /** Maps a config.json to the record; names the file and field on any problem. */
    public static LlamaConfig from(HfConfig c) {
        String type = c.modelType();
        if (!type.equals("llama") && !type.equals("mistral") && !type.equals("qwen2")) {
            throw new Lora4jException(c.source() + ": model_type '" + type + "' is not a Llama-family type (llama, mistral, qwen2)");
        }
        String act = c.stringOr("hidden_act", "silu");
        if (!act.equals("silu")) throw new Lora4jException(c.source() + ": hidden_act '" + act + "' is not supported for " + type + " (expected silu)");
        if (c.doubleOr("attention_dropout", 0) != 0) {
            throw new Lora4jException(c.source() + ": attention_dropout " + c.requireDouble("attention_dropout") + " is not supported (expected 0.0)");
        }
        if (c.doubleOr("partial_rotary_factor", 1) != 1) {
            throw new Lora4jException(c.source() + ": partial_rotary_factor " + c.requireDouble("partial_rotary_factor") + " is not supported (expected 1.0)");
        }
        int hidden = c.positiveInt("hidden_size"), heads = c.positiveInt("num_attention_heads"), layers = c.positiveInt("num_hidden_layers");
        int kvHeads = c.positiveIntOr("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw new Lora4jException(c.source() + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if (!c.has("head_dim") && hidden % heads != 0) {
            throw new Lora4jException(c.source() + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads + " (and no head_dim)");
        }
        int headDim = c.positiveIntOr("head_dim", hidden / heads);
        if (headDim % 2 != 0) throw new Lora4jException(c.source() + ": head_dim " + headDim + " is odd (rotary embeddings need pairs)");
        JsonNode ropeParameters = c.raw().get("rope_parameters");   // newer transformers: theta and scaling in one object
        boolean newRope = ropeParameters != null && ropeParameters.isObject();
        double theta = newRope ? ropeTheta(ropeParameters, c.source()) : c.positiveDoubleOr("rope_theta", 10000.0);
        RopeScaling scaling = newRope ? RopeScaling.from(ropeParameters, c.source(), "rope_parameters")
                : RopeScaling.from(c.raw().get("rope_scaling"), c.source(), "rope_scaling");
        boolean llama = type.equals("llama"), attentionBias = llama && c.boolOr("attention_bias", false);
        int maxPositions = c.positiveIntOr("max_position_embeddings", switch (type) {
            case "mistral" -> 4096 * 32;
            case "qwen2" -> 32768;
            default -> 2048;
        });
        try {
            return new LlamaConfig(type, c.positiveInt("vocab_size"), hidden, c.positiveInt("intermediate_size"), layers, heads, kvHeads,
                    headDim, (float) c.positiveDoubleOr("rms_norm_eps", 1e-6), theta, scaling, maxPositions, c.boolOr("tie_word_embeddings", false),
                    attentionBias || type.equals("qwen2"), attentionBias, llama && c.boolOr("mlp_bias", false),
                    slidingWindows(c, type, layers), tokenId(c, "bos_token_id"), tokenId(c, "eos_token_id"));
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(c.source() + ": " + e.getMessage(), e);
        }
    }

    /** rope_parameters.rope_theta (newer configs): a positive finite number, 10000 when absent. */
    private static double ropeTheta(JsonNode ropeParameters, String source) {
        JsonNode t = ropeParameters.get("rope_theta");
        if (t == null || t.isNull()) return 10000.0;
        if (!t.isNumber() || !(t.doubleValue() > 0) || Double.isInfinite(t.doubleValue())) {
            throw new Lora4jException(source + ": field 'rope_parameters.rope_theta' is " + (t.isNumber() ? t.asText() : t.toString()) + ", expected a positive finite number");
        }
        return t.doubleValue();
    }

    /** Per layer window (0 = none) as MistralConfig / Qwen2Config decide it; llama has none. */
    private static List<Integer> slidingWindows(HfConfig c, String type, int layers) {
        List<Integer> out = new ArrayList<>(Collections.nCopies(layers, 0));
        boolean absent = !c.raw().has("sliding_window");   // absent: the class default 4096; null: no window
        int window = absent ? 4096 : c.nonNegativeIntOr("sliding_window", 0);
        if (type.equals("mistral")) out.replaceAll(w -> window);
        if (!type.equals("qwen2") || !c.boolOr("use_sliding_window", false)) return out;
        JsonNode layerTypes = c.raw().get("layer_types");
        if (layerTypes != null && !layerTypes.isNull()) {
            if (!layerTypes.isArray() || layerTypes.size() != layers) {
                throw new Lora4jException(c.source() + ": layer_types is not a list of " + layers + " layer types");
            }
            for (int i = 0; i < layers; i++) {
                String t = layerTypes.get(i).asText();
                if (!t.equals("full_attention") && !t.equals("sliding_attention")) {
                    throw new Lora4jException(c.source() + ": layer_types[" + i + "] is '" + t + "', expected full_attention or sliding_attention");
                }
                if (t.equals("sliding_attention")) out.set(i, window);
            }
            return out;
        }
        int maxWindowLayers = c.nonNegativeIntOr("max_window_layers", 28);
        for (int i = maxWindowLayers; i < layers; i++) out.set(i, window);
        return out;
    }

    /** A token id field: a number, the first of a list (Llama 3's eos), or absent. */
    private static OptionalInt tokenId(HfConfig c, String field) {
        if (!c.has(field)) return OptionalInt.empty();
        JsonNode node = c.raw().get(field);
        if (node.isArray() && !node.isEmpty()) node = node.get(0);
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new Lora4jException(c.source() + ": " + field + " is not a token id or a list of token ids");
        }
        return OptionalInt.of(node.intValue());
    }
}
