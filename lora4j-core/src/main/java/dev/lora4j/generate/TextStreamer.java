// Turns generated token ids into text as they arrive, like HF's TextStreamer: decode all ids so far and
// emit only the new suffix, holding it back while it ends in U+FFFD (a UTF-8 character whose bytes
// are split over tokens), so multi-byte characters come out whole.
package dev.lora4j.generate;

import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;

/** An {@link IntConsumer} to pass to {@link Generator#generate}; call {@link #finish()} at the end. */
public final class TextStreamer implements IntConsumer {
    private static final char REPLACEMENT = '\uFFFD';
    private final Function<int[], String> decode;
    private final Consumer<String> sink;
    private int[] ids = new int[16];
    private int count;
    private int emitted;   // characters of the decoded text already given to the sink

    /** {@code decode}: ids → text (e.g. {@code tokenizer::decode}); {@code sink} receives each new piece of text. */
    public TextStreamer(Function<int[], String> decode, Consumer<String> sink) {
        this.decode = decode;
        this.sink = sink;
    }

    @Override
    public void accept(int id) {
        if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
        ids[count++] = id;
        String text = decode.apply(Arrays.copyOf(ids, count));
        if (!text.isEmpty() && text.charAt(text.length() - 1) != REPLACEMENT) emit(text);
    }

    /** Emits what was held back (an incomplete character stays U+FFFD). */
    public void finish() {
        emit(decode.apply(Arrays.copyOf(ids, count)));
    }

    private void emit(String text) {
        if (text.length() > emitted) {
            sink.accept(text.substring(emitted));
            emitted = text.length();
        }
    }
}
