// Finds NaN and ±Infinity in float arrays as weights are read: one pass that the JIT can vectorise (a max of
// |x|, which NaN and infinity poison), and a second, scalar pass only when it found one, to say where.
package dev.lora4j.io;

/** Loaders reject non-finite weights: one NaN in a weight makes every loss and every logit NaN. */
public final class FiniteCheck {
    private FiniteCheck() {}

    /** The first index in [from, to) whose value is NaN or infinite, or −1 when all are finite. */
    public static int firstNonFinite(float[] a, int from, int to) {
        float max = 0f;
        for (int i = from; i < to; i++) max = Math.max(max, Math.abs(a[i]));
        if (max <= Float.MAX_VALUE) return -1;
        for (int i = from; i < to; i++) if (!Float.isFinite(a[i])) return i;
        throw new IllegalStateException("unreachable: the maximum was not finite");
    }

    /** {@code flat} as an element position of {@code shape} ("[1, 7]"), for messages. */
    public static String position(long[] shape, long flat) {
        long[] at = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            at[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return java.util.Arrays.toString(at);
    }
}
