package dev.lora4j.train;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * Hugging Face's {@code group_by_length} order (transformers' get_length_grouped_indices): a random permutation cut
 * into megabatches of {@code min(n / (4·batch), 50)} batches, each sorted by length, longest first, and the longest
 * example of all moved to the very front. Batches then hold texts of similar length (little padding), and the first
 * batch is the longest, so a run meets its peak memory at once.
 */
final class LengthGroupedOrder {
    private LengthGroupedOrder() {}

    /** Reorders {@code permutation} (the epoch's random order) in place; {@code length} gives an example's tokens. */
    static int[] apply(int[] permutation, int batchSize, IntUnaryOperator length) {
        int n = permutation.length;
        int mult = Math.max(1, Math.min(n / (batchSize * 4), 50));
        int mega = Math.max(1, mult * batchSize);
        int longestMega = 0;
        for (int start = 0; start < n; start += mega) {
            int end = Math.min(n, start + mega);
            Integer[] m = new Integer[end - start];
            for (int i = start; i < end; i++) m[i - start] = permutation[i];
            Arrays.sort(m, (a, b) -> Integer.compare(length.applyAsInt(b), length.applyAsInt(a)));   // stable: ties keep their order
            for (int i = start; i < end; i++) permutation[i] = m[i - start];
            if (length.applyAsInt(permutation[start]) > length.applyAsInt(permutation[longestMega])) longestMega = start;
        }
        int first = permutation[0];
        permutation[0] = permutation[longestMega];
        permutation[longestMega] = first;
        return permutation;
    }
}
