package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/**
 * Elementwise y = tanh(x), the activation of BERT's pooler and RoBERTa's classification head.
 * Forward keeps y; backward dx = dy·(1 − y²).
 */
public final class Tanh {
    private Tanh() {}

    public static Tensor apply(Tape tape, Tensor x) {
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data();
        for (int i = 0, n = x.size(); i < n; i++) Y[i] = (float) Math.tanh(X[i]);
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad(), dX = x.grad();
                for (int i = 0, n = x.size(); i < n; i++) dX[i] += dY[i] * (1f - Y[i] * Y[i]);
            });
        }
        return y;
    }
}
