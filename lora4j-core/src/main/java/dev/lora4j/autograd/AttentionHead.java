package dev.lora4j.autograd;

import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;

/**
 * One head of causal attention computed a tile of query rows at a time, so that no (T, T) matrix is kept: the
 * forward saves, per query row, the softmax's max and 1/sum (2·T floats), and the backward recomputes each tile's
 * scores and probabilities from them before using them (FlashAttention's backward: the probabilities are recomputed
 * rather than stored). A tile of rows [i0, i1) reads only the keys some of its rows see, [first(i0), i1), so the
 * masked upper triangle costs no products. The probabilities are recomputed with the forward's operations on the
 * same tiles, so they are the forward's bits. Per row i over its visible keys j ∈ [first(i), i]:
 * P = softmax(q·kᵀ·scale), Pd = P ⊙ dropout mask (when dropout > 0), out = Pd·v; backward dv += Pdᵀ·dout,
 * dP = (dout·vᵀ) ⊙ mask, dS = P ⊙ (dP − Σ_j P·dP)·scale, dq += dS·k, dk += dSᵀ·q.
 *
 * <p>q, k, v and out are matrices of T rows and HD columns inside larger arrays (offset, leading dimension), so both
 * GPT-2's packed qkv and Llama's separate projections are heads; gradients go to the same offsets in their arrays.
 * The head's query rows are {@code q[qo + i·ldq ..]}, keys {@code k[ko + j·ldk ..]} and values {@code v[vo + j·ldv ..]},
 * HD wide, i, j < T; {@code window} 0 for full causal attention, else the sliding window. The dropout mask of element
 * (i, j) is element {@code maskBase + i·T + j} of {@link Dropout#mask} drawn from {@code seed}, recomputed where
 * needed, never stored.
 */
record AttentionHead(float[] q, int qo, int ldq, float[] k, int ko, int ldk, float[] v, int vo, int ldv, int T, int HD, int window,
                     float scale, float dropout, long seed, long maskBase) {
    /** Query rows per tile: each thread holds about two (ROWS, T) tiles. */
    static final int ROWS = 64;

    /** Writes the head's output rows to {@code out[oo + i·ldo ..]}; saves row i's max and 1/sum at stats[so + 2i ..]. */
    void forward(float[] out, int oo, int ldo, float[] stats, int so) {
        Kernels K = KernelProvider.get();
        float[] P = Ops.scratch(ROWS * T);                                                  // (rows, n)
        for (int i0 = 0; i0 < T; i0 += ROWS) {
            int i1 = Math.min(T, i0 + ROWS), lo = GroupedQueryAttention.first(i0, window), n = i1 - lo;
            K.gemmABt(P, 0, n, q, qo + i0 * ldq, ldq, k, ko + lo * ldk, ldk, i1 - i0, n, HD, false);   // q·kᵀ (rows, n)
            for (int i = i0; i < i1; i++) {
                int row = (i - i0) * n, a = GroupedQueryAttention.first(i, window) - lo, b = i - lo;
                float max = probabilities(K, P, row + a, b - a + 1);
                float inv = 1f / K.expShiftSum(P, row + a, b - a + 1, max);
                stats[so + 2 * i] = max;
                stats[so + 2 * i + 1] = inv;
                for (int j = 0; j < n; j++) {
                    P[row + j] = j < a || j > b ? 0f : dropout > 0f ? P[row + j] * inv * mask(i, lo + j) : P[row + j] * inv;
                }
            }
            K.gemmAB(out, oo + i0 * ldo, ldo, P, 0, n, v, vo + lo * ldv, ldv, i1 - i0, HD, n, false);  // Pd·v (rows, HD)
        }
    }

    /**
     * Adds the head's input gradients for output gradient {@code dOut} (at the output's offsets) into {@code dq},
     * {@code dk}, {@code dv} (each null when not wanted; at the inputs' offsets), from the stats {@link #forward} saved.
     */
    void backward(float[] dOut, int oo, int ldo, float[] stats, int so, float[] dq, float[] dk, float[] dv) {
        Kernels K = KernelProvider.get();
        float[] buf = Ops.scratch(2 * ROWS * T + T);
        int dPOff = ROWS * T, maskOff = 2 * ROWS * T;                   // P (rows, n), then dP (rows, n), then one mask row
        for (int i0 = 0; i0 < T; i0 += ROWS) {
            int i1 = Math.min(T, i0 + ROWS), rows = i1 - i0, lo = GroupedQueryAttention.first(i0, window), n = i1 - lo;
            K.gemmABt(buf, 0, n, q, qo + i0 * ldq, ldq, k, ko + lo * ldk, ldk, rows, n, HD, false);      // q·kᵀ, as forward
            K.gemmABt(buf, dPOff, n, dOut, oo + i0 * ldo, ldo, v, vo + lo * ldv, ldv, rows, n, HD, false);  // dPd = dout·vᵀ
            for (int i = i0; i < i1; i++) {
                int row = (i - i0) * n, a = GroupedQueryAttention.first(i, window) - lo, b = i - lo;
                float max = stats[so + 2 * i], inv = stats[so + 2 * i + 1];
                probabilities(K, buf, row + a, b - a + 1);
                K.expShiftSum(buf, row + a, b - a + 1, max);
                K.scale(buf, row + a, b - a + 1, inv);                                  // P, the forward's bits
                if (dropout > 0f) {
                    for (int j = a; j <= b; j++) buf[dPOff + row + j] *= buf[maskOff + j] = mask(i, lo + j);
                }
                float dot = K.dot(buf, row + a, buf, dPOff + row + a, b - a + 1);
                for (int j = 0; j < n; j++) {
                    boolean seen = j >= a && j <= b;
                    float p = seen ? buf[row + j] : 0f;
                    buf[dPOff + row + j] = seen ? p * (buf[dPOff + row + j] - dot) * scale : 0f;   // dS
                    buf[row + j] = dropout > 0f && seen ? p * buf[maskOff + j] : p;                // Pd
                }
            }
            if (dv != null) K.gemmAtB(dv, vo + lo * ldv, ldv, buf, 0, n, dOut, oo + i0 * ldo, ldo, n, HD, rows, true);   // dv += Pdᵀ·dout
            if (dq != null) K.gemmAB(dq, qo + i0 * ldq, ldq, buf, dPOff, n, k, ko + lo * ldk, ldk, rows, HD, n, true);  // dq += dS·k
            if (dk != null) K.gemmAtB(dk, ko + lo * ldk, ldk, buf, dPOff, n, q, qo + i0 * ldq, ldq, n, HD, rows, true);  // dk += dSᵀ·q
        }
    }

    /** Scales the n scores at s[off..] by {@link #scale} in place and returns their max. */
    private float probabilities(Kernels K, float[] s, int off, int n) {
        K.scale(s, off, n, scale);
        return K.max(s, off, n);
    }

    private float mask(int i, int j) {
        return Dropout.maskAt(seed, maskBase + (long) i * T + j, dropout);
    }
}
