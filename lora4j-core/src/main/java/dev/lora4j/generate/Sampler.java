// Picks the next token from one position's logits, as HF generation utils do: greedy (argmax) when
// temperature is 0, else TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper in that order,
// then a draw from the softmax of what is left (torch.multinomial), from a seeded SplittableRandom.
package dev.lora4j.generate;

import dev.lora4j.Lora4jException;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Stateful only through its random stream: the same seed and logits give the same tokens. */
public final class Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;

    /**
     * {@code temperature} 0 = greedy, else logits / temperature; {@code topK} 0 = off, else keep the k
     * highest (ties with the k-th kept, as HF); {@code topP} 1 = off, else keep the smallest set of most
     * probable tokens whose probability sums to ≥ topP (at least one).
     */
    public Sampler(float temperature, int topK, float topP, long seed) {
        validate(temperature, topK, topP);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    /** Throws {@link Lora4jException} naming the first setting out of range. */
    public static void validate(float temperature, int topK, float topP) {
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new Lora4jException("temperature must be a finite number ≥ 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) throw new Lora4jException("top-k must be ≥ 0 (0 = off), got " + topK);
        if (!(topP > 0f && topP <= 1f)) throw new Lora4jException("top-p must be in (0, 1] (1 = off), got " + topP);
    }

    public boolean greedy() {
        return temperature == 0f;
    }

    /** The next token id for {@code logits} (V); the array is not modified. */
    public int sample(float[] logits) {
        if (greedy()) return argmax(logits);
        float[] s = warp(logits);
        float max = s[argmax(s)];
        double[] p = new double[s.length];
        double sum = 0;
        for (int i = 0; i < s.length; i++) sum += p[i] = s[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(s[i] - max);
        double u = random.nextDouble() * sum, acc = 0;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) continue;
            acc += p[i];
            last = i;
            if (u < acc) return i;
        }
        return last;   // rounding left u at the very top: the last kept token
    }

    /** The processed logits (a copy): temperature, then top-k, then top-p; excluded tokens are −∞. Not for greedy. */
    public float[] warp(float[] logits) {
        float[] s = logits.clone();
        if (temperature != 1f) {
            for (int i = 0; i < s.length; i++) s[i] /= temperature;
        }
        boolean cutK = topK > 0 && topK < s.length, cutP = topP < 1f;
        if (!cutK && !cutP) return s;
        long[] order = descending(s);
        if (cutK) {
            float kth = s[index(order[topK - 1])];
            for (int i = 0; i < s.length; i++) if (s[i] < kth) s[i] = Float.NEGATIVE_INFINITY;
        }
        if (cutP) {
            float max = s[index(order[0])];
            double sum = 0;
            for (float v : s) sum += v == Float.NEGATIVE_INFINITY ? 0 : Math.exp(v - max);
            double above = 0;                                  // probability of the tokens ranked higher
            for (int r = 0; r < order.length; r++) {
                int i = index(order[r]);
                if (r > 0 && above >= topP) s[i] = Float.NEGATIVE_INFINITY;
                else above += Math.exp(s[i] - max) / sum;
            }
        }
        return s;
    }

    /** First index of the largest value, as torch.argmax. */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** Indices of {@code s} by decreasing value, packed as (sortable value bits, index) longs. */
    private static long[] descending(float[] s) {
        long[] keys = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            int bits = Float.floatToIntBits(s[i]);
            int sortable = bits ^ ((bits >> 31) & 0x7fffffff);          // same order as the floats, as signed ints
            keys[i] = ((long) sortable << 32) | i;
        }
        Arrays.sort(keys);
        for (int l = 0, r = keys.length - 1; l < r; l++, r--) {
            long t = keys[l];
            keys[l] = keys[r];
            keys[r] = t;
        }
        return keys;
    }

    private static int index(long key) {
        return (int) key;
    }
}
