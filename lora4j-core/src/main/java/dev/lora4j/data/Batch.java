package dev.lora4j.data;

import dev.lora4j.autograd.CrossEntropy;
import java.util.Arrays;
import java.util.List;

/**
 * Windows stacked into one (B, T) batch, right-padded to the longest with id 0 and target −100 (a causal
 * model never attends to later positions, so padding changes nothing before it).
 */
public record Batch(int[] ids, int[] targets, int B, int T) {
    public static Batch of(List<Window> windows) {
        int B = windows.size(), T = windows.stream().mapToInt(Window::length).max().orElseThrow();
        int[] ids = new int[B * T], targets = new int[B * T];
        Arrays.fill(targets, CrossEntropy.IGNORE_INDEX);
        for (int b = 0; b < B; b++) {
            Window w = windows.get(b);
            System.arraycopy(w.ids(), 0, ids, b * T, w.length());
            System.arraycopy(w.targets(), 0, targets, b * T, w.length());
        }
        return new Batch(ids, targets, B, T);
    }

    /** Number of scored targets. */
    public int scored() {
        return CrossEntropy.countTargets(targets);
    }
}
