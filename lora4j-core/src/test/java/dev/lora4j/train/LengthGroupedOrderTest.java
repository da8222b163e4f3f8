package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** transformers' get_length_grouped_indices, worked by hand on a small case. */
class LengthGroupedOrderTest {
    @Test
    void megabatchesAreSortedLongestFirstAndTheLongestExampleLeads() {
        int[] lengths = {5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11, 0};
        // 12 examples, batch 1 → megabatches of min(12 / 4, 50) = 3 examples each, in the permutation's order
        int[] permutation = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        int[] out = LengthGroupedOrder.apply(permutation, 1, i -> lengths[i]);
        // sorted megabatches: [2 (9), 0 (5), 1 (1)], [4 (7), 3 (3), 5 (2)], [6 (8), 8 (6), 7 (4)], [10 (11), 9 (10), 11 (0)];
        // then the longest first element (10, length 11) swaps with the first megabatch's first (2)
        assertArrayEquals(new int[] {10, 0, 1, 4, 3, 5, 6, 8, 7, 2, 9, 11}, out);
    }
}
