// DoRA's update added into the base layer's output in place (Liu et al. 2024, arXiv 2402.09353; PEFT's
// DoraLinearLayer.forward in tuners/lora/dora.py): with c = ‖W + s·B·A‖ per output row (the norm of each row of the
// (out, in) weight, a constant in the backward as the paper's §4.3 and PEFT detach it) and f = m / c,
//   y += (f − 1)⊙P + (f⊙L)·s,  P = xd·Wᵀ (the base product without bias), L = (xd·Aᵀ)·Bᵀ,
// so y = f⊙(x·Wᵀ + s·x·Aᵀ·Bᵀ) + b when xd = x (no dropout; P is then y − b, as PEFT takes it from base_result).
package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.tensor.Workspace;

/**
 * The DoRA op. x (N, in) is the base op's input and y (N, out) its output, which must not have been handed to another
 * op yet; xd is the input of the DoRA branch: x itself, or dropout(x) in training (PEFT then recomputes P from xd).
 * A (r, in), B (out, r), m (out): lora_A, lora_B, lora_magnitude_vector. The base weight must be frozen. Backward, with
 * dY the gradient of y and g = f⊙dY: dm += Σₙ dY⊙(P + s·L) / c; dB += s·gᵀ·(xd·Aᵀ); dU = s·g·B; dA += dUᵀ·xd;
 * dxd += dU·A plus the base part ((f − 1)⊙dY)·W. When xd = x that base part is folded into the base op's own backward
 * (dx = dY·W) by scaling dY by f in place before it runs, which needs no second product through W; the bias gradient,
 * which must stay Σ dY, gets Σ (1 − f)⊙dY to make up for it.
 */
public final class DoraDelta {
    private DoraDelta() {}

    public static Tensor addInto(Tape tape, Tensor y, Tensor x, Tensor xd, Tensor weight, Tensor bias, boolean fanInFanOut,
                                 Tensor a, Tensor b, Tensor m, float s) {
        int r = a.dim(0), in = a.dim(1), out = b.dim(0);
        Ops.check(b.dim(1) == r && m.size() == out, "lora_B " + b.shape() + ", lora_magnitude_vector " + m.shape()
                + " do not match lora_A " + a.shape());
        Ops.check(x.dim(-1) == in && xd.size() == x.size() && y.dim(-1) == out && x.size() / in == y.size() / out,
                "DoRA input " + x.shape() + " / output " + y.shape() + " do not match A " + a.shape() + ", B " + b.shape());
        Ops.check(!weight.requiresGrad(), "DoRA needs a frozen base weight");
        int n = x.size() / in;
        boolean sameInput = xd == x;
        float[] Y = y.data(), Xd = xd.data(), A = a.data(), B = b.data(), M = m.data();
        float[] c = weightNorms(weight.storage(), fanInFanOut, out, in, A, B, r, s);
        float[] f = factor(M, c);
        float[] P = Workspace.floats(n * out);                                   // xd·Wᵀ (N, out)
        if (sameInput) {
            System.arraycopy(Y, 0, P, 0, n * out);
            if (bias != null) subtractRows(P, bias.data(), n, out);
        } else if (fanInFanOut) {
            Gemm.ab(P, 0, out, Xd, 0, in, weight.storage(), 0, out, n, out, in, false);
        } else {
            Gemm.abt(P, 0, out, Xd, 0, in, weight.storage(), 0, in, n, out, in, false);
        }
        float[] us = Workspace.floats(n * r);                                    // xd·Aᵀ (N, r)
        float[] L = Workspace.floats(n * out);                                   // xd·Aᵀ·Bᵀ (N, out)
        update(Y, P, Xd, A, B, f, s, n, in, out, r, us, L);
        boolean needsGrad = tape.needsGrad(xd, a, b, m);
        if (needsGrad && m.requiresGrad()) {
            for (int k = 0; k < n * out; k++) P[k] += s * L[k];                   // P + s·L, for dm
        } else {
            Workspace.recycle(P);
        }
        Workspace.recycle(L);
        if (!needsGrad) {
            Workspace.recycle(us);
            return y;
        }
        y.requiresGrad(true);
        tape.record(() -> {                                      // runs before the base op's step, which frees dY
            float[] dY = y.grad();
            if (m.requiresGrad()) {
                float[] dm = m.grad();
                for (int row = 0; row < n; row++) {
                    for (int o = 0, k = row * out; o < out; o++, k++) dm[o] += dY[k] * P[k] / c[o];
                }
            }
            float[] g = Workspace.floats(n * out);                               // s·f⊙dY, the LoRA branch's gradient
            for (int row = 0; row < n; row++) {
                for (int o = 0, k = row * out; o < out; o++, k++) g[k] = f[o] * dY[k] * s;
            }
            if (b.requiresGrad()) Gemm.atb(b.grad(), 0, r, g, 0, out, us, 0, r, out, r, n, true);        // (out, N)·(N, r)
            if (a.requiresGrad() || xd.requiresGrad()) {
                float[] dU = Workspace.floats(n * r);
                Gemm.ab(dU, 0, r, g, 0, out, B, 0, r, n, r, out, false);                                // (N, out)·(out, r)
                if (a.requiresGrad()) Gemm.atb(a.grad(), 0, in, dU, 0, r, Xd, 0, in, r, in, n, true);
                if (xd.requiresGrad()) Gemm.ab(xd.grad(), 0, in, dU, 0, r, A, 0, in, n, in, r, true);
                Workspace.recycle(dU);
            }
            if (sameInput) {
                if (bias != null && bias.requiresGrad()) {
                    float[] db = bias.grad();
                    for (int row = 0; row < n; row++) {
                        for (int o = 0, k = row * out; o < out; o++, k++) db[o] += (1 - f[o]) * dY[k];
                    }
                }
                for (int row = 0; row < n; row++) {
                    for (int o = 0, k = row * out; o < out; o++, k++) dY[k] *= f[o];
                }
            } else if (xd.requiresGrad()) {
                for (int row = 0; row < n; row++) {
                    for (int o = 0, k = row * out; o < out; o++, k++) g[k] = (f[o] - 1) * dY[k];
                }
                if (fanInFanOut) Gemm.abt(xd.grad(), 0, in, g, 0, out, weight.storage(), 0, out, n, in, out, true);
                else Gemm.ab(xd.grad(), 0, in, g, 0, out, weight.storage(), 0, in, n, in, out, true);
            }
            Workspace.recycle(g);
        });
        return y;
    }

    /**
     * The op in evaluation (no gradient, no dropout) with the factor f = m / c given: what a served DoRA adapter adds to
     * its rows, whose factor is fixed once read (its weights no longer change). The same bits as {@link #addInto}.
     */
    public static void addIntoWithFactor(Tensor y, Tensor x, Tensor bias, Tensor a, Tensor b, float[] f, float s) {
        int r = a.dim(0), in = a.dim(1), out = b.dim(0), n = x.size() / in;
        float[] P = Workspace.floats(n * out), us = Workspace.floats(n * r), L = Workspace.floats(n * out);
        System.arraycopy(y.data(), 0, P, 0, n * out);
        if (bias != null) subtractRows(P, bias.data(), n, out);
        update(y.data(), P, x.data(), a.data(), b.data(), f, s, n, in, out, r, us, L);
        Workspace.recycle(P);
        Workspace.recycle(us);
        Workspace.recycle(L);
    }

    /** us = xd·Aᵀ, L = us·Bᵀ, then y += (f − 1)⊙P + (f⊙L)·s ({@link #combine}). */
    private static void update(float[] y, float[] p, float[] xd, float[] a, float[] b, float[] f, float s, int n, int in, int out,
                               int r, float[] us, float[] l) {
        Gemm.abt(us, 0, r, xd, 0, in, a, 0, in, n, r, in, false);
        Gemm.abt(l, 0, out, us, 0, r, b, 0, r, n, out, r, false);
        combine(y, 0, p, l, f, s, n, out);
    }

    /** DoRA's factor m / c per output row, in float32 as PEFT's magnitude / weight_norm. */
    public static float[] factor(float[] m, float[] c) {
        float[] f = new float[c.length];
        for (int o = 0; o < f.length; o++) f[o] = m[o] / c[o];
        return f;
    }

    /**
     * PEFT's get_weight_norm: c[o] = ‖W[o, :] + s·(B·A)[o, :]‖₂ over the (out, in) orientation of the weight (GPT-2's
     * Conv1D stores Wᵀ), each element formed in float32 as PEFT forms it, the squares summed in double.
     */
    public static float[] weightNorms(WeightStorage w, boolean fanInFanOut, int out, int in, float[] a, float[] b, int r, float s) {
        float[] ba = Workspace.floats(out * in);                                 // B·A (out, in)
        Gemm.ab(ba, 0, in, b, 0, r, a, 0, in, out, in, r, false);
        double[] sq = new double[out];
        float[] row = new float[fanInFanOut ? out : in];
        if (fanInFanOut) {
            for (int i = 0; i < in; i++) {
                w.widen(i * out, row, 0, out);
                for (int o = 0; o < out; o++) {
                    float e = row[o] + s * ba[o * in + i];
                    sq[o] += (double) e * e;
                }
            }
        } else {
            for (int o = 0; o < out; o++) {
                w.widen(o * in, row, 0, in);
                double acc = 0;
                for (int i = 0; i < in; i++) {
                    float e = row[i] + s * ba[o * in + i];
                    acc += (double) e * e;
                }
                sq[o] = acc;
            }
        }
        Workspace.recycle(ba);
        float[] c = new float[out];
        for (int o = 0; o < out; o++) c[o] = (float) Math.sqrt(sq[o]);
        return c;
    }

    /**
     * y[k] += (f − 1)·P[k] + (f·L[k])·s over n rows of y from {@code yOff}, P and L from 0: the elementwise step of the
     * op, shared with the batched forward of a served DoRA adapter so that both give the same bits.
     */
    public static void combine(float[] y, int yOff, float[] p, float[] l, float[] f, float s, int n, int out) {
        for (int row = 0; row < n; row++) {
            for (int o = 0, k = row * out; o < out; o++, k++) {
                float fo = f[o];
                y[yOff + k] += (fo - 1) * p[k] + fo * l[k] * s;
            }
        }
    }

    /** p[row, o] −= bias[o]: the base product recovered from the base output, as PEFT's base_result − bias. */
    public static void subtractRows(float[] p, float[] bias, int n, int out) {
        for (int row = 0; row < n; row++) {
            for (int o = 0, k = row * out; o < out; o++, k++) p[k] -= bias[o];
        }
    }
}
