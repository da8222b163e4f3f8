package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/**
 * Elementwise y = a + s·b of two tensors of the same shape: the residual connection (s = 1) and LoRA's
 * {@code base(x) + scale·B(A(x))}. dy flows to a, s·dy to b.
 */
public final class Add {
    private Add() {}

    public static Tensor apply(Tape tape, Tensor a, Tensor b) {
        return apply(tape, a, b, 1f);
    }

    public static Tensor apply(Tape tape, Tensor a, Tensor b, float s) {
        Ops.check(a.shape().equals(b.shape()), "cannot add " + a.shape() + " and " + b.shape());
        boolean needsGrad = tape.needsGrad(a, b);
        Tensor y = Ops.output(a.shape(), needsGrad);
        float[] A = a.data(), B = b.data(), Y = y.data();
        int n = a.size();
        for (int i = 0; i < n; i++) Y[i] = A[i] + s * B[i];
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad();
                if (a.requiresGrad()) {
                    float[] dA = a.grad();
                    for (int i = 0; i < n; i++) dA[i] += dY[i];
                }
                if (b.requiresGrad()) {
                    float[] dB = b.grad();
                    for (int i = 0; i < n; i++) dB[i] += s * dY[i];
                }
            });
        }
        return y;
    }
}
