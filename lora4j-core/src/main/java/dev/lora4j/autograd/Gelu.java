package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * GELU in the tanh form GPT-2 uses (HF "gelu_new"): y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 * Backward differentiates that formula, not the exact erf GELU.
 */
public final class Gelu {
    private static final float K = (float) Math.sqrt(2.0 / Math.PI);

    private Gelu() {}

    /** t = tanh(√(2/π)(x + 0.044715x³)) for the values [from, to), the tanh vectorised by the kernels. */
    private static void tanhOfInner(float[] t, float[] X, int from, int to) {
        for (int i = from; i < to; i++) {
            float v = X[i];
            t[i] = K * (v + 0.044715f * v * v * v);
        }
        KernelProvider.get().tanh(t, from, t, from, to - from);
    }

    public static Tensor apply(Tape tape, Tensor x) {
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data();
        int n = x.size();
        Gemm.parallelRanges(n, (from, to) -> {                      // runs of multiples of 64: the tanh's scalar tail stays the last
            tanhOfInner(Y, X, from, to);
            for (int i = from; i < to; i++) Y[i] = 0.5f * X[i] * (1f + Y[i]);
        });
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad(), dX = x.grad(), t = Workspace.floats(n);
                Gemm.parallelRanges(n, (from, to) -> {
                    tanhOfInner(t, X, from, to);
                    for (int i = from; i < to; i++) {
                        float v = X[i], sech2 = 1f - t[i] * t[i];
                        float du = K * (1f + 3f * 0.044715f * v * v);
                        dX[i] += dY[i] * (0.5f * (1f + t[i]) + 0.5f * v * sech2 * du);
                    }
                });
            });
        }
        return y;
    }
}
