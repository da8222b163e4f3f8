package dev.lora4j.data;

import java.util.ArrayList;
import java.util.List;

/** One training or evaluation sequence: input ids and the next-token targets (−100 where not scored). */
public record Window(int[] ids, int[] targets) {
    public Window {
        if (ids.length != targets.length) throw new IllegalArgumentException("ids and targets differ in length");
    }

    public int length() {
        return ids.length;
    }

    /**
     * Cuts each document into windows of at most {@code seqLen} inputs whose targets are the following
     * tokens, so every token but a document's first is predicted exactly once (windows overlap by one token).
     */
    public static List<Window> pack(List<int[]> docs, int seqLen) {
        if (seqLen < 1) throw new IllegalArgumentException("sequence length must be positive, got " + seqLen);
        List<Window> out = new ArrayList<>();
        for (int[] doc : docs) {
            for (int start = 0; start + 1 < doc.length; start += seqLen) {
                int len = Math.min(seqLen, doc.length - 1 - start);
                int[] ids = new int[len], targets = new int[len];
                System.arraycopy(doc, start, ids, 0, len);
                System.arraycopy(doc, start + 1, targets, 0, len);
                out.add(new Window(ids, targets));
            }
        }
        return out;
    }
}
