// Inference-only multi-head causal attention of new tokens over a KV cache, as HF modeling_gpt2.py's
// GPT2Attention does with layer_past: the new k, v are appended, then softmax(q·kᵀ/√HS, causal)·v.
// Same arithmetic as autograd.CausalSelfAttention (scale after the dot, max-subtracted softmax).
package dev.lora4j.nn;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;

/** No tape, no dropout, batch 1: for generation, never for training. */
public final class CachedAttention {
    private CachedAttention() {}

    /**
     * Attention output (T, C) for {@code qkv} (T, 3C) = [q | k | v] of T new tokens at positions
     * {@code cache.length()} onwards. Writes their k and v into rows [length, length + T) of the cache's
     * {@code layer}; the caller advances the cache once all layers ran. Query i sees positions ≤ length + i.
     */
    public static Tensor apply(Tensor qkv, KvCache cache, int layer, int NH) {
        int C3 = qkv.dim(-1), C = C3 / 3, HS = C / NH, T = qkv.size() / C3, past = cache.length(), L = past + T;
        if (C3 != 3 * C || C != NH * HS || C != cache.width()) {
            throw new IllegalArgumentException("attention input " + qkv.shape() + " is not (T, 3·" + cache.width()
                    + ") with C divisible by " + NH);
        }
        if (L > cache.capacity()) {
            throw new IllegalArgumentException(T + " new positions after " + past + " exceed the KV cache capacity " + cache.capacity());
        }
        float[] X = qkv.data(), Kc = cache.keys(layer), Vc = cache.values(layer);
        for (int t = 0; t < T; t++) {
            System.arraycopy(X, t * C3 + C, Kc, (past + t) * C, C);
            System.arraycopy(X, t * C3 + 2 * C, Vc, (past + t) * C, C);
        }
        Tensor out = Tensor.zeros(T, C);                                           // (T, C)
        float[] O = out.data();
        float scale = (float) (1.0 / Math.sqrt(HS));
        Kernels K = KernelProvider.get();
        Gemm.parallelFor(NH, h -> {
            float[] P = new float[T * L];                                          // (T, L) for this head
            K.gemmABt(P, 0, L, X, h * HS, C3, Kc, h * HS, C, T, L, HS, false);       // q·kᵀ
            for (int i = 0; i < T; i++) {
                int row = i * L, last = past + i;                                  // query i sees keys 0..last
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= last; j++) max = Math.max(max, P[row + j] * scale);
                float sum = 0f;
                for (int j = 0; j <= last; j++) {
                    float e = (float) Math.exp(P[row + j] * scale - max);
                    P[row + j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int j = 0; j <= last; j++) P[row + j] *= inv;
                for (int j = last + 1; j < L; j++) P[row + j] = 0f;
            }
            K.gemmAB(O, h * HS, C, P, 0, L, Vc, h * HS, C, T, HS, L, false);       // P·v (T, HS)
        });
        return out;
    }
}
