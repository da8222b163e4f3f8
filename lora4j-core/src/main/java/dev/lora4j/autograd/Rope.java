package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

/**
 * Rotary position embedding in HF's rotate-half layout (modeling_llama.py apply_rotary_pos_emb):
 * per head of HD values, with x1 = x[:HD/2], x2 = x[HD/2:] and the angles of the row's position,
 * y = x·cos + rotate_half(x)·sin, i.e. y1 = x1·cos − x2·sin, y2 = x2·cos + x1·sin. Backward is the
 * inverse rotation: dx1 = dy1·cos + dy2·sin, dx2 = dy2·cos − dy1·sin.
 */
public final class Rope {
    private Rope() {}

    /**
     * Rotates x (B·T, H·HD), rows ordered by batch then position, with cos and sin (T, HD/2): the tables of
     * the T positions of each sequence (HF's cos/sin repeat the same HD/2 values in both halves).
     */
    public static Tensor apply(Tape tape, Tensor x, int B, int T, int H, float[] cos, float[] sin) {
        int W = x.dim(-1), HD = W / H, half = HD / 2;
        Ops.check(W == H * HD && HD % 2 == 0 && x.size() == B * T * W,
                "rope input " + x.shape() + " is not (" + B + "·" + T + ", " + H + "·HD) with an even HD");
        Ops.check(cos.length == T * half && sin.length == T * half, "rope tables do not hold " + T + " × " + half + " angles");
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        rotate(x.data(), y.data(), B * T, T, H, HD, cos, sin, false);
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dX = x.grad(), dY = y.grad();
                float[] back = Workspace.floats(y.size());
                rotate(dY, back, B * T, T, H, HD, cos, sin, true);
                for (int i = 0, n = y.size(); i < n; i++) dX[i] += back[i];
                Workspace.recycle(back);
            });
        }
        return y;
    }

    /** out = rotation of in by the angles of each row's position; {@code inverse} rotates by −angle. */
    private static void rotate(float[] in, float[] out, int rows, int T, int H, int HD, float[] cos, float[] sin, boolean inverse) {
        int half = HD / 2, W = H * HD;
        for (int r = 0; r < rows; r++) {
            int t = (r % T) * half;
            for (int h = 0; h < H; h++) {
                int o = r * W + h * HD;
                for (int d = 0; d < half; d++) {
                    float c = cos[t + d], s = inverse ? -sin[t + d] : sin[t + d];
                    float x1 = in[o + d], x2 = in[o + half + d];
                    out[o + d] = x1 * c - x2 * s;
                    out[o + half + d] = x2 * c + x1 * s;
                }
            }
        }
    }
}
