package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/**
 * RMS normalisation over the last dimension, as HF LlamaRMSNorm computes it in float32:
 * y = weight · (x · rstd) with rstd = 1/√(mean(x²) + eps), no mean subtraction and no bias.
 * Forward keeps rstd per row for backward: dx = rstd·(g − x̂·mean(g·x̂)) with g = dy·weight, x̂ = x·rstd.
 */
public final class RmsNorm {
    private RmsNorm() {}

    public static Tensor apply(Tape tape, Tensor x, Tensor weight, float eps) {
        int C = x.dim(-1), N = x.size() / C;
        Ops.check(weight.size() == C, "rmsnorm weight of " + weight.size() + " does not match width " + C);
        boolean needsGrad = tape.needsGrad(x, weight);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data(), w = weight.data();
        float[] rstd = new float[N];
        for (int r = 0; r < N; r++) {
            int o = r * C;
            double sumSq = 0;
            for (int c = 0; c < C; c++) sumSq += (double) X[o + c] * X[o + c];
            float s = (float) (1.0 / Math.sqrt((float) (sumSq / C) + eps));
            for (int c = 0; c < C; c++) Y[o + c] = w[c] * (X[o + c] * s);
            rstd[r] = s;
        }
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad();
                float[] dX = x.requiresGrad() ? x.grad() : null;
                float[] dw = weight.requiresGrad() ? weight.grad() : null;
                for (int r = 0; r < N; r++) {
                    int o = r * C;
                    float s = rstd[r];
                    float sumGx = 0f;
                    for (int c = 0; c < C; c++) {
                        float xhat = X[o + c] * s;
                        sumGx += dY[o + c] * w[c] * xhat;
                        if (dw != null) dw[c] += dY[o + c] * xhat;
                    }
                    if (dX == null) continue;
                    float mean = sumGx / C;
                    for (int c = 0; c < C; c++) dX[o + c] += s * (dY[o + c] * w[c] - X[o + c] * s * mean);
                }
            });
        }
        return y;
    }
}
