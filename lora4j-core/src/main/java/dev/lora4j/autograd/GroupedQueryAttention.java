package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * Grouped-query causal attention as HF modeling_llama.py's eager_attention_forward computes it: q holds NH
 * heads, k and v hold NKV heads of HD each, and query head h reads kv head h / (NH/NKV) (repeat_kv);
 * per head P = softmax(q·kᵀ·HD^−½ over the visible keys), out = P·v. Key j is visible to query i when
 * j ≤ i and, with a sliding window W > 0, j > i − W (masking_utils.sliding_window_overlay; Mistral).
 * Forward keeps P (B, NH, T, T) for backward; query heads run in parallel, kv groups in backward.
 */
public final class GroupedQueryAttention {
    private GroupedQueryAttention() {}

    /**
     * Attention output (B·T, NH·HD) for q (B·T, NH·HD) and k, v (B·T, NKV·HD), rows ordered by batch then
     * position; {@code window} 0 means full causal attention.
     */
    public static Tensor apply(Tape tape, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV, int window) {
        Ops.check(NKV > 0 && NH % NKV == 0, NH + " query heads are not a multiple of " + NKV + " kv heads");
        int QW = q.dim(-1), KW = k.dim(-1), HD = QW / NH, group = NH / NKV;
        Ops.check(QW == NH * HD && KW == NKV * HD && v.dim(-1) == KW && q.size() == B * T * QW && k.size() == B * T * KW
                && v.size() == k.size(), "attention inputs q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                + " are not (" + B + "·" + T + ", " + NH + "·HD) and (" + B + "·" + T + ", " + NKV + "·HD)");
        Ops.check(window >= 0, "sliding window " + window + " is negative");
        boolean needsGrad = tape.needsGrad(q, k, v);
        Tensor out = Ops.output(q.shape(), needsGrad);
        float scale = (float) (1.0 / Math.sqrt(HD));
        float[] Q = q.data(), Kd = k.data(), V = v.data(), O = out.data();
        float[] P = Workspace.floats(B * NH * T * T);                                     // (B, NH, T, T)
        Kernels K = KernelProvider.get();
        Gemm.parallelFor(B * NH, bh -> {
            int b = bh / NH, h = bh % NH, qo = b * T * QW + h * HD, ko = b * T * KW + (h / group) * HD, p = bh * T * T;
            K.gemmABt(P, p, T, Q, qo, QW, Kd, ko, KW, T, T, HD, false);                  // q·kᵀ (T, T)
            for (int i = 0; i < T; i++) softmaxRow(P, p + i * T, first(i, window), i, T, scale);
            K.gemmAB(O, qo, QW, P, p, T, V, ko, KW, T, HD, T, false);                    // P·v (T, HD)
        });
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dO = out.grad();
                float[] dQ = q.requiresGrad() ? q.grad() : null;
                float[] dK = k.requiresGrad() ? k.grad() : null;
                float[] dV = v.requiresGrad() ? v.grad() : null;
                Gemm.parallelFor(B * NKV, bg -> {
                    int b = bg / NKV, g = bg % NKV, ko = b * T * KW + g * HD;
                    float[] dS = Ops.scratch(T * T);
                    for (int h = g * group; h < (g + 1) * group; h++) {
                        int qo = b * T * QW + h * HD, p = (b * NH + h) * T * T;
                        if (dV != null) K.gemmAtB(dV, ko, KW, P, p, T, dO, qo, QW, T, HD, T, true);   // dv += Pᵀ·dout
                        if (dQ == null && dK == null) continue;
                        K.gemmABt(dS, 0, T, dO, qo, QW, V, ko, KW, T, T, HD, false);                // dP = dout·vᵀ
                        for (int i = 0; i < T; i++) {
                            int row = i * T, lo = first(i, window);
                            float dot = 0f;
                            for (int j = lo; j <= i; j++) dot += P[p + row + j] * dS[row + j];
                            for (int j = 0; j < T; j++) {
                                dS[row + j] = j >= lo && j <= i ? P[p + row + j] * (dS[row + j] - dot) * scale : 0f;
                            }
                        }
                        if (dQ != null) K.gemmAB(dQ, qo, QW, dS, 0, T, Kd, ko, KW, T, HD, T, true);     // dq += dS·k
                        if (dK != null) K.gemmAtB(dK, ko, KW, dS, 0, T, Q, qo, QW, T, HD, T, true);     // dk += dSᵀ·q
                    }
                });
            });
        }
        return out;
    }

    /** The first key position query {@code i} sees: 0, or i − W + 1 with a sliding window W. */
    public static int first(int i, int window) {
        return window > 0 ? Math.max(0, i - window + 1) : 0;
    }

    /**
     * Turns the raw scores S[row + j] of one query into probabilities over the visible keys [lo, hi]:
     * softmax(S·scale) there (max subtracted), 0 at every other of the {@code width} entries.
     */
    public static void softmaxRow(float[] S, int row, int lo, int hi, int width, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = lo; j <= hi; j++) max = Math.max(max, S[row + j] * scale);
        float sum = 0f;
        for (int j = lo; j <= hi; j++) {
            float e = (float) Math.exp(S[row + j] * scale - max);
            S[row + j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < width; j++) S[row + j] = j >= lo && j <= hi ? S[row + j] * inv : 0f;
    }
}
