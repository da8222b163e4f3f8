package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * The attention ops as they were before the probabilities were recomputed in the backward (commit 402efe9): forward
 * keeps P (B, NH, T, T), backward reads it. The oracle {@link TiledAttentionTest} compares the tiled ops against.
 */
final class StoredProbabilityAttention {
    private StoredProbabilityAttention() {}

    /** GroupedQueryAttention.apply as it was. */
    static Tensor gqa(Tape tape, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV, int window) {
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
            for (int i = 0; i < T; i++) GroupedQueryAttention.softmaxRow(P, p + i * T, GroupedQueryAttention.first(i, window), i, T, scale);
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
                            int row = i * T, lo = GroupedQueryAttention.first(i, window);
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

    /** CausalSelfAttention.apply as it was. */
    static Tensor causal(Tape tape, Tensor qkv, int B, int T, int NH, float dropout, long seed) {
        int C3 = qkv.dim(-1), C = C3 / 3, HS = C / NH;
        Ops.check(C3 == 3 * C && C == NH * HS && qkv.size() == B * T * C3,
                "attention input " + qkv.shape() + " is not (" + B + ", " + T + ", 3·C) with C divisible by " + NH);
        boolean needsGrad = tape.needsGrad(qkv);
        Tensor out = Ops.output(Ops.withLast(qkv.shape(), C), needsGrad);         // (B, T, C) or (B·T, C)
        float scale = (float) (1.0 / Math.sqrt(HS));
        float[] X = qkv.data(), O = out.data();
        float[] P = Workspace.floats(B * NH * T * T);                              // (B, NH, T, T)
        float[] Pd = dropout > 0f ? Workspace.floats(B * NH * T * T) : P;                 // P after dropout
        float[] mask = dropout > 0f ? Dropout.mask(B * NH * T * T, dropout, seed) : null;
        Kernels K = KernelProvider.get();
        Gemm.parallelFor(B * NH, bh -> {
            int b = bh / NH, h = bh % NH, q = b * T * C3 + h * HS, p = bh * T * T;
            K.gemmABt(P, p, T, X, q, C3, X, q + C, C3, T, T, HS, false);           // q·kᵀ (T, T)
            for (int i = 0; i < T; i++) {
                int row = p + i * T;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) max = Math.max(max, P[row + j] * scale);
                float sum = 0f;
                for (int j = 0; j <= i; j++) {
                    float e = (float) Math.exp(P[row + j] * scale - max);
                    P[row + j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int j = 0; j <= i; j++) P[row + j] *= inv;
                for (int j = i + 1; j < T; j++) P[row + j] = 0f;
                if (mask != null) {
                    for (int j = 0; j < T; j++) Pd[row + j] = P[row + j] * mask[row + j];
                }
            }
            K.gemmAB(O, b * T * C + h * HS, C, Pd, p, T, X, q + 2 * C, C3, T, HS, T, false);   // P·v (T, HS)
        });
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dO = out.grad(), dX = qkv.grad();
                Gemm.parallelFor(B * NH, bh -> {
                    int b = bh / NH, h = bh % NH, q = b * T * C3 + h * HS, p = bh * T * T, o = b * T * C + h * HS;
                    float[] dP = Ops.scratch(T * T);                                     // overwritten below
                    K.gemmABt(dP, 0, T, dO, o, C, X, q + 2 * C, C3, T, T, HS, false);       // dPd = dout·vᵀ
                    K.gemmAtB(dX, q + 2 * C, C3, Pd, p, T, dO, o, C, T, HS, T, true);      // dv += Pdᵀ·dout
                    for (int i = 0; i < T; i++) {
                        int row = i * T;
                        if (mask != null) {
                            for (int j = 0; j <= i; j++) dP[row + j] *= mask[p + row + j];
                        }
                        float dot = 0f;
                        for (int j = 0; j <= i; j++) dot += P[p + row + j] * dP[row + j];
                        for (int j = 0; j <= i; j++) dP[row + j] = P[p + row + j] * (dP[row + j] - dot) * scale;
                        for (int j = i + 1; j < T; j++) dP[row + j] = 0f;
                    }
                    K.gemmAB(dX, q, C3, dP, 0, T, X, q + C, C3, T, HS, T, true);           // dq += dS·k
                    K.gemmAtB(dX, q + C, C3, dP, 0, T, X, q, C3, T, HS, T, true);          // dk += dSᵀ·q
                });
            });
        }
        return out;
    }
}
