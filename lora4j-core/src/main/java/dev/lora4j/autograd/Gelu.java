package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/**
 * GELU in the tanh form GPT-2 uses (HF "gelu_new"): y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 * Backward differentiates that formula, not the exact erf GELU.
 */
public final class Gelu {
    private static final float K = (float) Math.sqrt(2.0 / Math.PI);

    private Gelu() {}

    public static Tensor apply(Tape tape, Tensor x) {
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data();
        for (int i = 0; i < X.length; i++) {
            float v = X[i];
            Y[i] = 0.5f * v * (1f + (float) Math.tanh(K * (v + 0.044715f * v * v * v)));
        }
        if (needsGrad) {
            tape.record(() -> {
                float[] dY = y.grad(), dX = x.grad();
                for (int i = 0; i < X.length; i++) {
                    float v = X[i];
                    float u = K * (v + 0.044715f * v * v * v);
                    float t = (float) Math.tanh(u);
                    float sech2 = 1f - t * t;
                    float du = K * (1f + 3f * 0.044715f * v * v);
                    dX[i] += dY[i] * (0.5f * (1f + t) + 0.5f * v * sech2 * du);
                }
            });
        }
        return y;
    }
}
