package dev.lora4j.autograd;

import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/**
 * Row gather: out[i, :] = x[rows[i], :] for x (N, C), out (rows.length, C); how an encoder's first token
 * ({@code hidden_states[:, 0]}) reaches the pooler or classification head. Backward scatter-adds dout.
 */
public final class TakeRows {
    private TakeRows() {}

    public static Tensor apply(Tape tape, Tensor x, int[] rows) {
        int C = x.dim(-1), N = x.size() / C;
        for (int r : rows) Ops.check(r >= 0 && r < N, "row " + r + " is outside [0, " + N + ")");
        boolean needsGrad = tape.needsGrad(x);
        Tensor out = Ops.output(new Shape(rows.length, C), needsGrad);
        float[] X = x.data(), O = out.data();
        for (int i = 0; i < rows.length; i++) System.arraycopy(X, rows[i] * C, O, i * C, C);
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dO = out.grad(), dX = x.grad();
                for (int i = 0; i < rows.length; i++) {
                    for (int c = 0, s = rows[i] * C, o = i * C; c < C; c++) dX[s + c] += dO[o + c];
                }
            });
        }
        return out;
    }
}
