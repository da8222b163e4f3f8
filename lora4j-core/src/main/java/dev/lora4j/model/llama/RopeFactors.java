package dev.lora4j.model.llama;

/**
 * llama.cpp's per-dimension RoPE frequency factors, the GGUF tensor {@code rope_freqs.weight} (F32, HD/2 values): inverse
 * frequency i is divided by factor i (the freq_factors llama-model.cpp passes to ggml_rope_ext). convert_hf_to_gguf.py
 * writes them for HF's "llama3" rope_scaling (LlamaModel.generate_extra_tensors, in float32): 1 where the wavelength is
 * below original/high_freq_factor, {@code factor} above original/low_freq_factor, 1 / ((1 − smooth)/factor + smooth) between.
 */
public record RopeFactors(float[] values) {
    /** The GGUF tensor that holds them. */
    public static final String GGUF_TENSOR = "rope_freqs.weight";

    public RopeFactors {
        values = values.clone();
        for (int i = 0; i < values.length; i++) {
            if (!(values[i] > 0) || Float.isInfinite(values[i])) {
                throw new IllegalArgumentException("factor " + i + " is " + values[i] + ", expected a positive finite number");
            }
        }
    }

    @Override
    public float[] values() {
        return values.clone();
    }

    /** The factors convert_hf_to_gguf.py computes for a "llama3" scaling of the default inverse frequencies (HD/2, highest first). */
    public static RopeFactors llama3(RopeScaling s, float[] invFreq) {
        if (!s.type().equals("llama3")) throw new IllegalArgumentException("rope scaling type " + s.type() + " has no llama.cpp frequency factors");
        double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor(), highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        float[] out = new float[invFreq.length];
        for (int i = 0; i < out.length; i++) {
            float wavelen = (float) (2 * Math.PI) / invFreq[i];   // torch float32 arithmetic, as the converter's loop
            if (wavelen < highWavelen) {
                out[i] = 1;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) s.factor();
            } else {
                float smooth = ((float) s.originalMaxPositionEmbeddings() / wavelen - (float) s.lowFreqFactor()) / (float) (s.highFreqFactor() - s.lowFreqFactor());
                out[i] = 1f / ((1f - smooth) / (float) s.factor() + smooth);
            }
        }
        return new RopeFactors(out);
    }

    /** {@code invFreq[i] / values[i]} in float32. */
    public float[] apply(float[] invFreq) {
        if (invFreq.length != values.length) throw new IllegalArgumentException(values.length + " RoPE factors for " + invFreq.length + " frequencies");
        float[] out = new float[invFreq.length];
        for (int i = 0; i < out.length; i++) out[i] = invFreq[i] / values[i];
        return out;
    }
}
