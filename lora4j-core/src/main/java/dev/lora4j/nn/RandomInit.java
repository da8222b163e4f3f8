package dev.lora4j.nn;

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
        SplittableRandom rnd = new SplittableRandom(seed);
        model.namedParameters().forEach((name, t) -> {
            float[] d = t.data();
            if (t.shape().rank() == 2) {
                for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * 0.02);
            } else if (t.shape().rank() == 1 && name.endsWith(".weight")) {
                Arrays.fill(d, 1f);
            } else {
                Arrays.fill(d, 0f);
            }
        });
    }
}
