package dev.lora4j.nn;

import dev.lora4j.tensor.CompactFormat;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * GPT-2's initialisation, used for new models of every family (nanoGPT's {@code _init_weights}): every matrix and
 * embedding N(0, 0.02) (a tied head is the embedding), every norm weight (the one-dimensional {@code .weight}s) 1,
 * biases 0. Draws in parameter order from the seed, so the same seed gives the same weights.
 */
public final class RandomInit {
    private RandomInit() {}

    public static void apply(Module model, long seed) {
        apply(model, seed, null);
    }

    /**
     * The same values, with every matrix that {@code frozen} fits held in it as soon as it is drawn and frozen (null:
     * all float32), so a base meant to stay frozen never exists whole in float32 (a benchmark's bf16 base): the same
     * storages as drawing in float32 and converting after.
     */
    public static void apply(Module model, long seed, CompactFormat frozen) {
        SplittableRandom rnd = new SplittableRandom(seed);
        model.namedParameters().forEach((name, t) -> {
            if (t.shape().rank() == 2 && frozen != null && frozen.fits(t.shape())) {
                // encode reads the values in order, a chunk at a time: drawn as they are read, no float32 copy of the matrix
                t.requiresGrad(false).hold(frozen.encode(t.size(), (from, dst, n) -> {
                    for (int i = 0; i < n; i++) dst[i] = (float) (rnd.nextGaussian() * 0.02);
                }));
                return;
            }
            if (t.shape().rank() == 2) {
                float[] d = t.data();
                for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * 0.02);
                return;
            }
            float[] d = t.data();
            if (t.shape().rank() == 1 && name.endsWith(".weight")) {
                Arrays.fill(d, 1f);
            } else {
                Arrays.fill(d, 0f);
            }
        });
    }
}
