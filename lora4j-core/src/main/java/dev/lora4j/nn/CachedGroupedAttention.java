// Inference-only grouped-query attention of new tokens over a KV cache, as HF modeling_llama.py's
// LlamaAttention with past_key_values: the new (already rotated) k and v are appended, then each query
// head attends over its kv head's cached keys. Same arithmetic as autograd.GroupedQueryAttention.
package dev.lora4j.nn;

import dev.lora4j.autograd.GroupedQueryAttention;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;

/** No tape, no dropout, batch 1: for generation, never for training. The cache holds NKV·HD floats per position. */
public final class CachedGroupedAttention {
    private CachedGroupedAttention() {}

    /**
     * Attention output (T, NH·HD) for q (T, NH·HD) and k, v (T, NKV·HD) of T new tokens at positions
     * {@code cache.length()} onwards. Writes k and v into rows [length, length + T) of the cache's
     * {@code layer}; the caller advances the cache once all layers ran. Query i sees positions ≤ length + i,
     * and with a sliding window W > 0 only the last W of them.
     */
    public static Tensor apply(Tensor q, Tensor k, Tensor v, KvCache cache, int layer, int NH, int NKV, int window) {
        int QW = q.dim(-1), KW = k.dim(-1), T = q.size() / QW, past = cache.length(), L = past + T;
        if (NKV < 1 || NH % NKV != 0 || QW % NH != 0 || KW != NKV * (QW / NH) || KW != cache.width()
                || k.size() != T * KW || v.size() != k.size()) {
            throw new IllegalArgumentException("attention inputs q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                    + " do not fit " + NH + " query heads, " + NKV + " kv heads and a KV cache of width " + cache.width());
        }
        if (L > cache.capacity()) {
            throw new IllegalArgumentException(T + " new positions after " + past + " exceed the KV cache capacity " + cache.capacity());
        }
        int HD = QW / NH, group = NH / NKV;
        float[] Kc = cache.keys(layer), Vc = cache.values(layer);
        System.arraycopy(k.data(), 0, Kc, past * KW, T * KW);
        System.arraycopy(v.data(), 0, Vc, past * KW, T * KW);
        Tensor out = Tensor.zeros(T, QW);                                           // (T, NH·HD)
        float[] Q = q.data(), O = out.data();
        float scale = (float) (1.0 / Math.sqrt(HD));
        Kernels K = KernelProvider.get();
        Gemm.parallelFor(NH, h -> {
            int ko = (h / group) * HD;
            float[] P = new float[T * L];                                           // (T, L) for this head
            K.gemmABt(P, 0, L, Q, h * HD, QW, Kc, ko, KW, T, L, HD, false);        // q·kᵀ
            for (int i = 0; i < T; i++) {
                int pos = past + i;
                GroupedQueryAttention.softmaxRow(P, i * L, GroupedQueryAttention.first(pos, window), pos, L, scale);
            }
            K.gemmAB(O, h * HD, QW, P, 0, L, Vc, ko, KW, T, HD, L, false);         // P·v (T, HD)
        });
        return out;
    }
}
