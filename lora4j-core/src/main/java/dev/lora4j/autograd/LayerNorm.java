package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Tensor;

/**
 * Layer normalisation over the last dimension (torch.nn.LayerNorm): y = (x − mean)·rstd·γ + β with
 * rstd = 1/√(var + eps), biased variance. Forward keeps mean and rstd per row for backward (llm.c). Rows are spread
 * over the cores; each row is computed as on one thread, and γ's and β's gradients are summed in row order.
 */
public final class LayerNorm {
    /** About this many values per task when rows are spread over the cores. */
    private static final int ROW_VALUES = 1 << 14;

    private LayerNorm() {}

    public static Tensor apply(Tape tape, Tensor x, Tensor weight, Tensor bias, float eps) {
        int C = x.dim(-1), N = x.size() / C;
        Ops.check(weight.size() == C && bias.size() == C, "layernorm parameters do not match width " + C);
        boolean needsGrad = tape.needsGrad(x, weight, bias);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data(), g = weight.data(), b = bias.data();
        float[] mean = new float[N], rstd = new float[N];
        int rows = Math.max(1, ROW_VALUES / C);                             // rows per task
        Gemm.parallelFor((N + rows - 1) / rows, p -> {
            for (int r = p * rows, end = Math.min(N, r + rows); r < end; r++) {
                int o = r * C;
                float m = 0f;
                for (int c = 0; c < C; c++) m += X[o + c];
                m /= C;
                float v = 0f;
                for (int c = 0; c < C; c++) {
                    float d = X[o + c] - m;
                    v += d * d;
                }
                float s = (float) (1.0 / Math.sqrt(v / C + eps));
                for (int c = 0; c < C; c++) Y[o + c] = (X[o + c] - m) * s * g[c] + b[c];
                mean[r] = m;
                rstd[r] = s;
            }
        });
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad();
                float[] dX = x.requiresGrad() ? x.grad() : null;
                float[] dg = weight.requiresGrad() ? weight.grad() : null;
                float[] db = bias.requiresGrad() ? bias.grad() : null;
                if (dg != null || db != null) {                             // γ's and β's gradients: a sum over rows, in row order
                    for (int r = 0; r < N; r++) {
                        int o = r * C;
                        for (int c = 0; c < C; c++) {
                            float xhat = (X[o + c] - mean[r]) * rstd[r];
                            if (dg != null) dg[c] += dY[o + c] * xhat;
                            if (db != null) db[c] += dY[o + c];
                        }
                    }
                }
                if (dX == null) return;
                Gemm.parallelFor((N + rows - 1) / rows, p -> {
                    for (int r = p * rows, end = Math.min(N, r + rows); r < end; r++) {
                        int o = r * C;
                        float m = mean[r], s = rstd[r];
                        float sumD = 0f, sumDxhat = 0f;
                        for (int c = 0; c < C; c++) {
                            float d = dY[o + c] * g[c];
                            sumD += d;
                            sumDxhat += d * ((X[o + c] - m) * s);
                        }
                        sumD /= C;
                        sumDxhat /= C;
                        for (int c = 0; c < C; c++) {
                            float xhat = (X[o + c] - m) * s;
                            dX[o + c] += (dY[o + c] * g[c] - sumD - xhat * sumDxhat) * s;
                        }
                    }
                });
            });
        }
        return y;
    }
}
