package dev.lora4j.data;

/**
 * One document as token ids; predictions of tokens at positions ≥ {@code scoredFrom} count in the loss
 * (1 for plain text: every token but the first; the prompt length for prompt + completion data).
 */
public record Sequence(int[] ids, int scoredFrom) {
    public Sequence {
        if (scoredFrom < 1) throw new IllegalArgumentException("scoredFrom must be at least 1, got " + scoredFrom);
    }

    /** Plain text: every token after the first is scored. */
    public static Sequence text(int[] ids) {
        return new Sequence(ids, 1);
    }
}
