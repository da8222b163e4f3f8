package dev.lora4j.data;

import dev.lora4j.autograd.CrossEntropy;
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
     * Cuts each sequence into windows of at most {@code seqLen} inputs whose targets are the following
     * tokens, so every scored token is predicted exactly once (windows overlap by one token). A target is
     * −100 unless the token it predicts is scored; windows with nothing to score are dropped.
     */
    public static List<Window> pack(List<Sequence> docs, int seqLen) {
        if (seqLen < 1) throw new IllegalArgumentException("sequence length must be positive, got " + seqLen);
        List<Window> out = new ArrayList<>();
        for (Sequence doc : docs) {
            int[] d = doc.ids();
            boolean[] scored = doc.scored();
            for (int start = 0; start + 1 < d.length; start += seqLen) {
                int len = Math.min(seqLen, d.length - 1 - start);
                int[] ids = new int[len], targets = new int[len];
                System.arraycopy(d, start, ids, 0, len);
                boolean any = false;
                for (int j = 0; j < len; j++) {
                    int next = start + j + 1;
                    targets[j] = scored[next] ? d[next] : CrossEntropy.IGNORE_INDEX;
                    any |= scored[next];
                }
                if (any) out.add(new Window(ids, targets));
            }
        }
        return out;
    }

    /** Token ids of a list of plain texts as sequences (convenience for the Java API). */
    public static List<Window> packTexts(List<int[]> docs, int seqLen) {
        return pack(docs.stream().map(Sequence::text).toList(), seqLen);
    }
}
