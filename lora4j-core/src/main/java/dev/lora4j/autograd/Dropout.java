package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.util.SplittableRandom;

/**
 * Inverted dropout: each element is zeroed with probability p and the rest scaled by 1/(1−p), from a
 * seeded generator so a step can be replayed exactly (resume). p = 0 returns x itself.
 */
public final class Dropout {
    private Dropout() {}

    public static Tensor apply(Tape tape, Tensor x, float p, long seed) {
        if (p <= 0f) return x;
        Ops.check(p < 1f, "dropout probability must be below 1, got " + p);
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] mask = mask(x.size(), p, seed);
        float[] X = x.data(), Y = y.data();
        for (int i = 0, n = x.size(); i < n; i++) Y[i] = X[i] * mask[i];
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad(), dX = x.grad();
                for (int i = 0, n = x.size(); i < n; i++) dX[i] += dY[i] * mask[i];
            });
        }
        return y;
    }

    /** n values that are 0 with probability p and 1/(1−p) otherwise, from {@code seed}. */
    static float[] mask(int n, float p, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float keep = 1f / (1f - p);
        float[] m = Workspace.floats(n);
        for (int i = 0; i < n; i++) m[i] = rnd.nextDouble() < p ? 0f : keep;
        return m;
    }
}
