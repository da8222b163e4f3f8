package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;

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
        Gemm.parallelRanges(x.size(), (from, to) -> {
            for (int i = from; i < to; i++) Y[i] = X[i] * mask[i];
        });
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad(), dX = x.grad();
                Gemm.parallelRanges(x.size(), (from, to) -> {
                    for (int i = from; i < to; i++) dX[i] += dY[i] * mask[i];
                });
            });
        }
        return y;
    }

    /**
     * n values that are 0 with probability p and 1/(1−p) otherwise, from {@code seed}: {@link #maskAt} for i < n, each
     * element on its own, so runs of them are drawn on all cores.
     */
    static float[] mask(int n, float p, long seed) {
        float[] m = Workspace.floats(n);
        Gemm.parallelRanges(n, (from, to) -> {
            for (int i = from; i < to; i++) m[i] = maskAt(seed, i, p);
        });
        return m;
    }

    /**
     * Element i of the mask drawn from {@code seed}, computed on its own (attention recomputes its mask a row at a
     * time): the i-th draw u of {@code new SplittableRandom(seed).nextDouble()}, SplitMix64's counter-based formula
     * (Steele, Lea, Flood 2014), 0 when u < p, else 1/(1−p).
     */
    static float maskAt(long seed, long i, float p) {
        long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;                 // the generator's state after i + 1 steps
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        double u = ((z ^ (z >>> 31)) >>> 11) * 0x1.0p-53;
        return u < p ? 0f : 1f / (1f - p);
    }
}
