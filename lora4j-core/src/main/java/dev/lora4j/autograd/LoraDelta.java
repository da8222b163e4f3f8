package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * LoRA's update added into the base layer's output in place: y += s·(x·Aᵀ)·Bᵀ, A (r, in), B (out, r), x (N, in),
 * y (N, out) the output of the base linear op on x. Only s·x·Aᵀ (N, r) is kept for the backward, not the (N, out)
 * update nor a second (N, out) sum as a separate add would. Backward, with dY the gradient of y:
 * dU = s·dY·B (N, r); dB += dYᵀ·(s·x·Aᵀ); dA += dUᵀ·x; dx += dU·A. The base op's own backward (dx += dY·W)
 * stays with the base op, which must be the one that produced y and must not have handed y to another op yet.
 */
public final class LoraDelta {
    private LoraDelta() {}

    public static Tensor addInto(Tape tape, Tensor y, Tensor x, Tensor a, Tensor b, float s) {
        int r = a.dim(0), in = a.dim(1), out = b.dim(0);
        Ops.check(b.dim(1) == r, "lora_B " + b.shape() + " does not match lora_A " + a.shape());
        Ops.check(x.dim(-1) == in && y.dim(-1) == out && x.size() / in == y.size() / out,
                "LoRA input " + x.shape() + " / output " + y.shape() + " do not match A " + a.shape() + ", B " + b.shape());
        int n = x.size() / in;
        float[] X = x.data(), A = a.data(), B = b.data(), Y = y.data();
        float[] us = Workspace.floats(n * r);                                          // s·x·Aᵀ (N, r)
        Gemm.abt(us, 0, r, X, 0, in, A, 0, in, n, r, in, false);
        KernelProvider.get().scale(us, 0, n * r, s);
        Gemm.abt(Y, 0, out, us, 0, r, B, 0, r, n, out, r, true);                       // y += us·Bᵀ
        if (tape.needsGrad(x, a, b)) {
            y.requiresGrad(true);
            tape.record(() -> {                                     // runs before the base op's step, which frees dY
                float[] dY = y.grad();
                if (b.requiresGrad()) Gemm.atb(b.grad(), 0, r, dY, 0, out, us, 0, r, out, r, n, true);   // (out, N)·(N, r)
                if (!a.requiresGrad() && !x.requiresGrad()) return;
                float[] dU = Workspace.floats(n * r);
                Gemm.ab(dU, 0, r, dY, 0, out, B, 0, r, n, r, out, false);                 // dY·B (N, r)
                KernelProvider.get().scale(dU, 0, n * r, s);
                if (a.requiresGrad()) Gemm.atb(a.grad(), 0, in, dU, 0, r, X, 0, in, r, in, n, true);     // (r, N)·(N, in)
                if (x.requiresGrad()) Gemm.ab(x.grad(), 0, in, dU, 0, r, A, 0, in, n, in, r, true);      // (N, r)·(r, in)
                Workspace.recycle(dU);
            });
        }
        return y;
    }
}
