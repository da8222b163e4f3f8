package dev.lora4j.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;

/**
 * config.json's {@code rope_scaling}, for the two types lora4j implements, with HF modeling_rope_utils.py's
 * meaning: "linear" divides every inverse frequency by {@code factor} (_compute_linear_scaling_rope_parameters);
 * "llama3" divides the low frequencies (wavelength above original/low_freq_factor) by {@code factor}, keeps
 * the high ones (wavelength below original/high_freq_factor) and blends in between (_compute_llama3_parameters).
 * The other fields are unused (NaN / 0) for "linear".
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {
    public RopeScaling {
        if (!type.equals("linear") && !type.equals("llama3")) throw new IllegalArgumentException("rope scaling type " + type);
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope scaling factor " + factor + " is not a positive finite number");
        if (type.equals("llama3") && !(highFreqFactor > lowFreqFactor && lowFreqFactor > 0 && originalMaxPositionEmbeddings > 0)) {
            throw new IllegalArgumentException("llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor and a positive"
                    + " original_max_position_embeddings");
        }
    }

    /**
     * Reads {@code node} (the value of {@code field} in {@code source}); null for an absent or null field
     * and for type "default". The type is {@code rope_type}, or {@code type} as older configs write it.
     */
    public static RopeScaling from(JsonNode node, String source, String field) {
        if (node == null || node.isNull()) return null;
        if (!node.isObject()) throw new Lora4jException(source + ": " + field + " is not an object or null");
        JsonNode t = node.hasNonNull("rope_type") ? node.get("rope_type") : node.get("type");
        if (t == null || !t.isTextual()) throw new Lora4jException(source + ": " + field + " has no rope_type (or type)");
        String where = source + ": " + field;
        try {
            return switch (t.textValue()) {
                case "default" -> null;
                case "linear" -> new RopeScaling("linear", number(node, where, "factor"), Double.NaN, Double.NaN, 0);
                case "llama3" -> new RopeScaling("llama3", number(node, where, "factor"), number(node, where, "low_freq_factor"),
                        number(node, where, "high_freq_factor"), (int) number(node, where, "original_max_position_embeddings"));
                default -> throw new Lora4jException(where + " type '" + t.textValue()
                        + "' is not supported (supported: default, linear, llama3)");
            };
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(where + ": " + e.getMessage(), e);
        }
    }

    private static double number(JsonNode node, String where, String name) {
        JsonNode v = node.get(name);
        if (v == null || !v.isNumber()) throw new Lora4jException(where + "." + name + " is missing or not a number");
        return v.doubleValue();
    }

    /** The scaled copy of the default inverse frequencies (HD/2 values, highest first). */
    public float[] apply(float[] invFreq) {
        float[] out = new float[invFreq.length];
        double lowWavelen = originalMaxPositionEmbeddings / lowFreqFactor, highWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        for (int i = 0; i < out.length; i++) {
            double f = invFreq[i];
            if (type.equals("linear")) {
                out[i] = (float) (f / factor);
                continue;
            }
            double wavelen = 2 * Math.PI / f;
            if (wavelen < highWavelen) {
                out[i] = (float) f;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) (f / factor);
            } else {
                double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[i] = (float) ((1 - smooth) * f / factor + smooth * f);
            }
        }
        return out;
    }
}
