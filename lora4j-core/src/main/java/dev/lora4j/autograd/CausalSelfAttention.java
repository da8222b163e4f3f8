package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * Multi-head causal self-attention over a packed projection, as GPT-2 computes it: qkv (B, T, 3C) holds
 * [q | k | v], each C wide and split into NH heads of HS = C/NH; per head P = softmax(q·kᵀ/√HS with
 * future positions masked), optional dropout on P, out = P·v; heads merged back to (B, T, C).
 * Forward keeps P (B, NH, T, T) for backward. Heads run in parallel.
 */
public final class CausalSelfAttention {
    private CausalSelfAttention() {}

    public static Tensor apply(Tape tape, Tensor qkv, int B, int T, int NH, float dropout, long seed) {
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
