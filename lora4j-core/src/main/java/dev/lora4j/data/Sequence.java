package dev.lora4j.data;

import java.util.Arrays;

/**
 * One document as token ids and which of them count in the loss: {@code scored[t]} says whether predicting
 * token {@code t} (from the tokens before it) is scored. Plain text scores every token but the first;
 * prompt + completion data scores the completion; chat data scores the assistant turns (as TRL's
 * assistant-only loss). Nothing predicts the first token, so it is never scored.
 */
public record Sequence(int[] ids, boolean[] scored) {
    public Sequence {
        if (ids.length != scored.length) {
            throw new IllegalArgumentException("ids and scored differ in length: " + ids.length + " vs " + scored.length);
        }
        if (scored.length > 0 && scored[0]) throw new IllegalArgumentException("the first token cannot be scored: nothing predicts it");
    }

    /** Prompt + completion: tokens at positions ≥ {@code scoredFrom} are scored. */
    public Sequence(int[] ids, int scoredFrom) {
        this(ids, from(ids.length, scoredFrom));
    }

    private static boolean[] from(int n, int scoredFrom) {
        if (scoredFrom < 1) throw new IllegalArgumentException("scoredFrom must be at least 1, got " + scoredFrom);
        boolean[] scored = new boolean[n];
        Arrays.fill(scored, Math.min(scoredFrom, n), n, true);
        return scored;
    }

    /** Plain text: every token after the first is scored. */
    public static Sequence text(int[] ids) {
        return new Sequence(ids, 1);
    }

    /** Number of scored tokens. */
    public int scoredCount() {
        int n = 0;
        for (boolean s : scored) n += s ? 1 : 0;
        return n;
    }
}
