// Tokenises a long .txt file a chunk at a time, so memory stays bounded (one encode of a 50 MB string took 7 GB and
// 136 s) while the ids are those of one encode of the whole text. A chunk ends at a space between two letters
// ("word| word"), where the byte-level BPE pre-tokenizers (GPT-2, Llama 3, Qwen2) and BERT's always split (a line break
// is not such a place for GPT-2: "\n\n" at the end of a chunk becomes one token instead of two), and only after checking
// that the text around the cut tokenises the same apart as together. Tokenizers for which such cuts fail (a normalizer
// that prepends to every input, say) stop being chunked and get the rest in one piece.
package dev.lora4j.data;

import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;

final class TextTokens {
    /** About how many characters one encode call gets. */
    static final int CHUNK_CHARS = 1 << 20;
    /** Characters on each side of a cut that must tokenise alike apart and together. */
    private static final int CONTEXT = 256;
    /** How far back from the end of the text read so far a cut is looked for, and how many places are tried. */
    private static final int SEARCH = 4096, TRIES = 4;
    /** Failed searches before the tokenizer is taken to be one that cannot be chunked. */
    private static final int MAX_FAILED = 8;

    private TextTokens() {}

    /** The token ids of the whole text of {@code file}, encoded in chunks of about {@code chunkChars} characters. */
    static int[] encode(Path file, Tokenizer tokenizer, int chunkChars) {
        int[] ids = new int[1024];
        int n = 0, failed = 0;
        StringBuilder text = new StringBuilder();
        try (Utf8Lines lines = new Utf8Lines(file)) {
            for (String line = lines.next(); line != null; line = lines.next()) {
                text.append(line);
                if (text.length() < chunkChars || failed >= MAX_FAILED) continue;
                int cut = cut(tokenizer, text);
                if (cut < 0) {
                    failed++;
                    continue;
                }
                int[] part = tokenizer.encode(text.substring(0, cut));
                if (n + part.length > ids.length) ids = Arrays.copyOf(ids, Math.max(2 * ids.length, n + part.length));
                System.arraycopy(part, 0, ids, n, part.length);
                n += part.length;
                text.delete(0, cut);
            }
        }
        int[] last = tokenizer.encode(text.toString());
        int[] out = Arrays.copyOf(ids, n + last.length);
        System.arraycopy(last, 0, out, n, last.length);
        return out;
    }

    /** The last place near the end of {@code text} before a space between two letters where cutting is clean, or −1. */
    private static int cut(Tokenizer tokenizer, CharSequence text) {
        int tries = 0;
        for (int i = text.length() - 2; i > 0 && i > text.length() - SEARCH && tries < TRIES; i--) {
            if (text.charAt(i) != ' ' || !Character.isLetter(text.charAt(i - 1)) || !Character.isLetter(text.charAt(i + 1))) continue;
            tries++;
            if (cutsCleanly(tokenizer, text, i)) return i;
        }
        return -1;
    }

    /** Whether the {@link #CONTEXT} characters on each side of {@code at} give the same ids tokenised apart as together. */
    private static boolean cutsCleanly(Tokenizer tokenizer, CharSequence text, int at) {
        int from = Math.max(0, at - CONTEXT), to = Math.min(text.length(), at + CONTEXT);
        if (Character.isLowSurrogate(text.charAt(from))) from++;
        if (to < text.length() && Character.isLowSurrogate(text.charAt(to))) to--;
        String before = text.subSequence(from, at).toString(), after = text.subSequence(at, to).toString();
        int[] a = tokenizer.encode(before), b = tokenizer.encode(after), joined = tokenizer.encode(before + after);
        return joined.length == a.length + b.length && Arrays.equals(joined, 0, a.length, a, 0, a.length)
                && Arrays.equals(joined, a.length, joined.length, b, 0, b.length);
    }
}
