package dev.lora4j.model.bert;

import java.util.Arrays;
import java.util.List;

/**
 * Encoded texts stacked into one right-padded (B, T) batch, as a Hugging Face tokenizer's
 * {@code padding=True} gives them: {@code inputIds} padded with pad_token_id, {@code tokenTypeIds} with 0,
 * and {@code attentionMask} 1 on real tokens, 0 on padding. All three are (B·T), row-major by sequence.
 */
public record EncoderBatch(int[] inputIds, int[] tokenTypeIds, int[] attentionMask, int B, int T) {
    public EncoderBatch {
        if (B < 1 || T < 1 || inputIds.length != B * T || tokenTypeIds.length != B * T || attentionMask.length != B * T) {
            throw new IllegalArgumentException("batch arrays do not match " + B + " × " + T);
        }
    }

    /** Pads {@code texts} to the longest with {@code padTokenId}; every text needs at least one token. */
    public static EncoderBatch of(List<EncoderTokenizer.Encoded> texts, int padTokenId) {
        int B = texts.size(), T = texts.stream().mapToInt(e -> e.inputIds().length).max().orElse(0);
        if (B == 0 || texts.stream().anyMatch(e -> e.inputIds().length == 0)) {
            throw new IllegalArgumentException("a batch needs at least one text, each of at least one token");
        }
        int[] ids = new int[B * T], types = new int[B * T], mask = new int[B * T];
        Arrays.fill(ids, padTokenId);
        for (int b = 0; b < B; b++) {
            EncoderTokenizer.Encoded e = texts.get(b);
            int n = e.inputIds().length;
            System.arraycopy(e.inputIds(), 0, ids, b * T, n);
            System.arraycopy(e.tokenTypeIds(), 0, types, b * T, n);
            Arrays.fill(mask, b * T, b * T + n, 1);
        }
        return new EncoderBatch(ids, types, mask, B, T);
    }

    /** The row offsets of each sequence's first token ([CLS] / &lt;s&gt;) in the flattened (B·T, C) hidden states. */
    public int[] firstTokenRows() {
        int[] rows = new int[B];
        for (int b = 0; b < B; b++) rows[b] = b * T;
        return rows;
    }
}
