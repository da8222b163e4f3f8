package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;

/**
 * The linear op: y = x·Wᵀ + b for a weight stored (out, in) as torch.nn.Linear does, or y = x·W + b for
 * a weight stored (in, out) as GPT-2's Conv1D does ({@code fanInFanOut}). x is (..., in), y (..., out).
 * Backward: dx = dy·W (or dy·Wᵀ), dW = dyᵀ·x (or xᵀ·dy), db = Σ dy, each only when that input requires
 * a gradient: a frozen weight costs no dW buffer and no GEMM. The weight is read through its
 * {@link Tensor#storage()} (float32, or a frozen weight held compactly), which the GEMMs widen exactly as they pack it.
 */
public final class MatMul {
    private MatMul() {}

    public static Tensor linear(Tape tape, Tensor x, Tensor weight, Tensor bias, boolean fanInFanOut) {
        int out = fanInFanOut ? weight.dim(1) : weight.dim(0);
        int in = fanInFanOut ? weight.dim(0) : weight.dim(1);
        Ops.check(weight.shape().rank() == 2, "weight must be 2-D, got " + weight.shape());
        Ops.check(x.dim(-1) == in, "input " + x.shape() + " does not match weight " + weight.shape()
                + (fanInFanOut ? " (in, out)" : " (out, in)"));
        Ops.check(bias == null || bias.size() == out, "bias " + (bias == null ? "" : bias.shape()) + " does not match " + out);
        int n = x.size() / in;
        boolean needsGrad = tape.needsGrad(x, weight, bias);
        Tensor y = Ops.output(Ops.withLast(x.shape(), out), needsGrad);
        float[] X = x.data(), Y = y.data();
        WeightStorage W = weight.storage();
        if (fanInFanOut) Gemm.ab(Y, 0, out, X, 0, in, W, 0, out, n, out, in, false);     // (n, in)·(in, out)
        else Gemm.abt(Y, 0, out, X, 0, in, W, 0, in, n, out, in, false);                   // (n, in)·(out, in)ᵀ
        if (bias != null) {
            float[] b = bias.data();
            for (int r = 0; r < n; r++) {
                for (int j = 0, o = r * out; j < out; j++) Y[o + j] += b[j];
            }
        }
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad();
                if (x.requiresGrad()) {
                    if (fanInFanOut) Gemm.abt(x.grad(), 0, in, dY, 0, out, W, 0, out, n, in, out, true);
                    else Gemm.ab(x.grad(), 0, in, dY, 0, out, W, 0, in, n, in, out, true);
                }
                if (weight.requiresGrad()) {
                    if (fanInFanOut) Gemm.atb(weight.grad(), 0, out, X, 0, in, dY, 0, out, in, out, n, true);
                    else Gemm.atb(weight.grad(), 0, in, dY, 0, out, X, 0, in, out, in, n, true);
                }
                if (bias != null && bias.requiresGrad()) {
                    float[] db = bias.grad();
                    for (int r = 0; r < n; r++) {
                        for (int j = 0, o = r * out; j < out; j++) db[j] += dY[o + j];
                    }
                }
            });
        }
        return y;
    }
}
