package dev.lora4j.model.llama;

/**
 * HF LlamaRotaryEmbedding: the inverse frequencies inv_freq[i] = 1/θ^(2i/HD) (float32, as
 * modeling_rope_utils.py's default), optionally divided by llama.cpp's {@link RopeFactors} (a GGUF's rope_freqs)
 * and rescaled by {@link RopeScaling}, and the cos/sin tables of a run of positions, computed in float32 as its
 * forward does (angle = inv_freq · position).
 */
public final class RotaryEmbedding {
    private final float[] invFreq;   // (HD/2)

    /** {@code factors} and {@code scaling} may be null (none). */
    public RotaryEmbedding(int headDim, double theta, RopeScaling scaling, RopeFactors factors) {
        if (factors != null && scaling != null && scaling.type().equals("llama3")) {
            throw new IllegalArgumentException("llama3 rope scaling and RoPE factors are two spellings of one scaling: give one");
        }
        float[] f = defaultInvFreq(headDim, theta);
        if (factors != null) f = factors.apply(f);
        this.invFreq = scaling == null ? f : scaling.apply(f);
    }

    /** 1/θ^(2i/HD) for i = 0 .. HD/2 − 1, in float32. */
    public static float[] defaultInvFreq(int headDim, double theta) {
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) f[i] = 1f / (float) Math.pow(theta, (float) (2 * i) / headDim);
        return f;
    }

    public float[] invFreq() {
        return invFreq.clone();
    }

    /** cos and sin (T, HD/2) of the angles of positions start .. start + T − 1. */
    public record Tables(float[] cos, float[] sin) {}

    public Tables tables(int start, int T) {
        int half = invFreq.length;
        float[] cos = new float[T * half], sin = new float[T * half];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < half; i++) {
                float angle = invFreq[i] * (float) (start + t);
                cos[t * half + i] = (float) Math.cos(angle);
                sin[t * half + i] = (float) Math.sin(angle);
            }
        }
        return new Tables(cos, sin);
    }
}
