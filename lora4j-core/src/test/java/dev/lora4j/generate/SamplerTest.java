// The sampler on hand-made logits: greedy is argmax, HF's warpers (temperature, top-k, top-p) keep
// exactly the tokens they should, and a seed fixes the draws.
package dev.lora4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    //                                        0     1    2    3     4    5    6     7
    private static final float[] LOGITS = {1.0f, 3.0f, 0.5f, 2.0f, -1f, 2.5f, 0.0f, 3.0f};

    static float[] randomLogits(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 3);
        return x;
    }

    static int[] draws(Sampler s, float[] logits, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = s.sample(logits);
        return out;
    }

    @Test
    void greedyIsTheFirstArgmaxAndLeavesTheLogitsAlone() {
        float[] copy = LOGITS.clone();
        assertEquals(1, new Sampler(0f, 0, 1f, 1).sample(LOGITS), "first of the tied maxima, as torch.argmax");
        assertArrayEquals(copy, LOGITS);
        float[] x = randomLogits(1000, 3);
        int best = 0;
        for (int i = 0; i < x.length; i++) if (x[i] > x[best]) best = i;
        assertEquals(best, new Sampler(0f, 50, 0.5f, 9).sample(x), "temperature 0 ignores top-k and top-p");
    }

    @Test
    void topKOfOneAndATinyTopPAreGreedy() {
        for (long seed = 0; seed < 20; seed++) {
            float[] x = randomLogits(500, seed);
            int argmax = Sampler.argmax(x);
            assertEquals(argmax, new Sampler(1.5f, 1, 1f, seed).sample(x), "top-k 1");
            assertEquals(argmax, new Sampler(1.5f, 0, 1e-6f, seed).sample(x), "tiny top-p");
        }
    }

    @Test
    void temperatureDividesTheLogits() {
        float[] w = new Sampler(2f, 0, 1f, 0).warp(LOGITS);
        for (int i = 0; i < LOGITS.length; i++) assertEquals(LOGITS[i] / 2f, w[i], 0f);
        assertArrayEquals(LOGITS, new Sampler(1f, 0, 1f, 0).warp(LOGITS), "temperature 1 is the identity");
    }

    @Test
    void topKKeepsTheKHighestAndTiesWithTheKth() {
        float[] w = new Sampler(1f, 3, 1f, 0).warp(LOGITS);   // 3.0, 3.0, 2.5 kept
        assertArrayEquals(new float[] {NEG_INF, 3f, NEG_INF, NEG_INF, NEG_INF, 2.5f, NEG_INF, 3f}, w);
        float[] ties = new Sampler(1f, 1, 1f, 0).warp(LOGITS);   // HF keeps every score ≥ the k-th
        assertArrayEquals(new float[] {NEG_INF, 3f, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, 3f}, ties);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        float[] logits = {(float) Math.log(0.1), (float) Math.log(0.5), (float) Math.log(0.15), (float) Math.log(0.25)};
        // by probability: 0.5 (1), 0.25 (3), 0.15 (2), 0.1 (0); cumulative 0.5, 0.75, 0.9, 1.0
        assertEquals(Arrays.toString(new boolean[] {false, true, false, false}), kept(new Sampler(1f, 0, 0.4f, 0).warp(logits)));
        assertEquals(Arrays.toString(new boolean[] {false, true, false, true}), kept(new Sampler(1f, 0, 0.6f, 0).warp(logits)));
        assertEquals(Arrays.toString(new boolean[] {false, true, true, true}), kept(new Sampler(1f, 0, 0.8f, 0).warp(logits)));
        assertEquals(Arrays.toString(new boolean[] {true, true, true, true}), kept(new Sampler(1f, 0, 0.95f, 0).warp(logits)));
        assertEquals(Arrays.toString(new boolean[] {false, true, false, false}), kept(new Sampler(1f, 0, 1e-9f, 0).warp(logits)));
        // top-k first, then top-p over what is left (renormalised): k=2 leaves 0.5/0.75 and 0.25/0.75
        assertEquals(Arrays.toString(new boolean[] {false, true, false, false}), kept(new Sampler(1f, 2, 0.6f, 0).warp(logits)));
        assertEquals(Arrays.toString(new boolean[] {false, true, false, true}), kept(new Sampler(1f, 2, 0.7f, 0).warp(logits)));
    }

    @Test
    void excludedTokensAreNeverDrawn() {
        Sampler topK = new Sampler(1f, 3, 1f, 42);
        for (int t : draws(topK, LOGITS, 2000)) assertTrue(t == 1 || t == 5 || t == 7, "top-k 3 drew " + t);
        float[] logits = {0f, 2f, 1.9f, -3f, 1.8f};
        float[] w = new Sampler(1f, 0, 0.7f, 0).warp(logits);
        Sampler topP = new Sampler(1f, 0, 0.7f, 42);
        boolean[] seen = new boolean[logits.length];
        for (int t : draws(topP, logits, 2000)) {
            assertTrue(w[t] != NEG_INF, "top-p 0.7 drew excluded token " + t);
            seen[t] = true;
        }
        for (int i = 0; i < logits.length; i++) assertEquals(w[i] != NEG_INF, seen[i], "token " + i + " drawn iff kept");
    }

    @Test
    void drawsFollowTheSoftmaxAndAreReproducibleFromTheSeed() {
        float[] logits = {0f, (float) Math.log(3)};   // p = 0.25, 0.75
        int[] a = draws(new Sampler(1f, 0, 1f, 7), logits, 4000);
        assertArrayEquals(a, draws(new Sampler(1f, 0, 1f, 7), logits, 4000), "same seed, same draws");
        assertTrue(!Arrays.equals(a, draws(new Sampler(1f, 0, 1f, 8), logits, 4000)), "another seed, other draws");
        double ones = Arrays.stream(a).sum() / 4000.0;
        assertEquals(0.75, ones, 0.03);
        double hot = Arrays.stream(draws(new Sampler(1e6f, 0, 1f, 7), logits, 4000)).sum() / 4000.0;
        assertEquals(0.5, hot, 0.03, "a huge temperature flattens the distribution");
    }

    @Test
    void settingsOutOfRangeAreRejectedWithTheirName() {
        assertTrue(assertThrows(Lora4jException.class, () -> new Sampler(-0.1f, 0, 1f, 0)).getMessage().contains("temperature"));
        assertThrows(Lora4jException.class, () -> new Sampler(Float.NaN, 0, 1f, 0));
        assertTrue(assertThrows(Lora4jException.class, () -> new Sampler(1f, -1, 1f, 0)).getMessage().contains("top-k"));
        assertTrue(assertThrows(Lora4jException.class, () -> new Sampler(1f, 0, 0f, 0)).getMessage().contains("top-p"));
        assertThrows(Lora4jException.class, () -> new Sampler(1f, 0, 1.01f, 0));
    }

    private static String kept(float[] warped) {
        boolean[] k = new boolean[warped.length];
        for (int i = 0; i < k.length; i++) k[i] = warped[i] != NEG_INF;
        return Arrays.toString(k);
    }
}
