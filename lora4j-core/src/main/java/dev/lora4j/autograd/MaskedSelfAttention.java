package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * Bidirectional multi-head self-attention over a right-padded batch, as HF BertSelfAttention computes it
 * (modeling_bert.py): q, k, v (B, T, C) from separate projections, split into NH heads of HS = C/NH; per head
 * P = softmax(q·kᵀ/√HS + mask), where the extended attention mask adds the dtype's minimum to every key whose
 * attention_mask is 0, so those keys get probability exactly 0 (every query row, padded or not, attends to
 * the real keys of its sequence); optional dropout on P; out = P·v, heads merged back to (B, T, C).
 * Forward keeps P (B, NH, T, T). Backward gives dq, dk, dv, each only when that input requires a gradient.
 */
public final class MaskedSelfAttention {
    private MaskedSelfAttention() {}

    /** {@code attentionMask} (B·T): 1 for a real token, 0 for padding; each sequence needs at least one 1. */
    public static Tensor apply(Tape tape, Tensor q, Tensor k, Tensor v, int[] attentionMask, int B, int T, int NH,
                               float dropout, long seed) {
        int C = q.dim(-1), HS = C / NH;
        Ops.check(q.shape().equals(k.shape()) && q.shape().equals(v.shape()), "q " + q.shape() + ", k " + k.shape()
                + " and v " + v.shape() + " must have the same shape");
        Ops.check(C == NH * HS && q.size() == B * T * C, "attention input " + q.shape() + " is not (" + B + ", " + T
                + ", C) with C divisible by " + NH);
        Ops.check(attentionMask.length == B * T, "attention mask of " + attentionMask.length + " for a batch of " + B + " × " + T);
        for (int b = 0; b < B; b++) {
            boolean any = false;
            for (int t = 0; t < T; t++) any |= attentionMask[b * T + t] != 0;
            Ops.check(any, "sequence " + b + " of the batch has no unmasked token");
        }
        boolean needsGrad = tape.needsGrad(q, k, v);
        Tensor out = Ops.output(q.shape(), needsGrad);
        float scale = (float) (1.0 / Math.sqrt(HS));
        float[] Q = q.data(), Kx = k.data(), V = v.data(), O = out.data();
        float[] P = Workspace.floats(B * NH * T * T);                                // (B, NH, T, T)
        float[] Pd = dropout > 0f ? Workspace.floats(B * NH * T * T) : P;                   // P after dropout
        float[] drop = dropout > 0f ? Dropout.mask(B * NH * T * T, dropout, seed) : null;
        Kernels K = KernelProvider.get();
        Gemm.parallelFor(B * NH, bh -> {
            int b = bh / NH, h = bh % NH, off = b * T * C + h * HS, p = bh * T * T, m = b * T;
            K.gemmABt(P, p, T, Q, off, C, Kx, off, C, T, T, HS, false);                 // q·kᵀ (T, T)
            for (int i = 0; i < T; i++) {
                int row = p + i * T;
                K.scale(P, row, T, scale);
                for (int j = 0; j < T; j++) if (attentionMask[m + j] == 0) P[row + j] = Float.NEGATIVE_INFINITY;   // exp gives 0
                float max = K.max(P, row, T);
                K.scale(P, row, T, 1f / K.expShiftSum(P, row, T, max));
                if (drop != null) {
                    for (int j = 0; j < T; j++) Pd[row + j] = P[row + j] * drop[row + j];
                }
            }
            K.gemmAB(O, off, C, Pd, p, T, V, off, C, T, HS, T, false);                 // P·v (T, HS)
        });
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dO = out.grad();
                float[] dQ = q.requiresGrad() ? q.grad() : null, dK = k.requiresGrad() ? k.grad() : null;
                float[] dV = v.requiresGrad() ? v.grad() : null;
                Gemm.parallelFor(B * NH, bh -> {
                    int off = (bh / NH) * T * C + (bh % NH) * HS, p = bh * T * T;
                    if (dV != null) K.gemmAtB(dV, off, C, Pd, p, T, dO, off, C, T, HS, T, true);   // dv += Pdᵀ·dout
                    if (dQ == null && dK == null) return;
                    float[] dP = Ops.scratch(T * T);
                    K.gemmABt(dP, 0, T, dO, off, C, V, off, C, T, T, HS, false);                // dPd = dout·vᵀ
                    for (int i = 0; i < T; i++) {
                        int row = i * T, pr = p + row;
                        if (drop != null) {
                            for (int j = 0; j < T; j++) dP[row + j] *= drop[pr + j];
                        }
                        float dot = K.dot(P, pr, dP, row, T);
                        for (int j = 0; j < T; j++) dP[row + j] = P[pr + j] * (dP[row + j] - dot) * scale;
                    }
                    if (dQ != null) K.gemmAB(dQ, off, C, dP, 0, T, Kx, off, C, T, HS, T, true);      // dq += dS·k
                    if (dK != null) K.gemmAtB(dK, off, C, dP, 0, T, Q, off, C, T, HS, T, true);      // dk += dSᵀ·q
                });
            });
        }
        return out;
    }
}
