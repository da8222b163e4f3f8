package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/** Elementwise sum of two tensors of the same shape (the residual connection); dy flows to both. */
public final class Add {
    private Add() {}

    public static Tensor apply(Tape tape, Tensor a, Tensor b) {
        Ops.check(a.shape().equals(b.shape()), "cannot add " + a.shape() + " and " + b.shape());
        boolean needsGrad = tape.needsGrad(a, b);
        Tensor y = Ops.output(a.shape(), needsGrad);
        float[] A = a.data(), B = b.data(), Y = y.data();
        for (int i = 0; i < Y.length; i++) Y[i] = A[i] + B[i];
        if (needsGrad) {
            tape.record(() -> {
                float[] dY = y.grad();
                if (a.requiresGrad()) accumulate(a.grad(), dY);
                if (b.requiresGrad()) accumulate(b.grad(), dY);
            });
        }
        return y;
    }

    static void accumulate(float[] dst, float[] src) {
        for (int i = 0; i < dst.length; i++) dst[i] += src[i];
    }
}
