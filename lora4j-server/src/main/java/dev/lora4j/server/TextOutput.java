// Generated ids to text as they come, as generate.TextStreamer does (decode all ids, hand on the new suffix, hold it
// back while it ends in a split UTF-8 character), and OpenAI's stop strings: the text ends before the first one found,
// and a piece that may be the start of one is held back until it is known not to be.
package dev.lora4j.server;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/** One per request, used by the request's thread only. */
final class TextOutput {
    private static final char REPLACEMENT = '\uFFFD';
    private final Function<int[], String> decode;
    private final List<String> stops;
    private final int holdBack;     // characters that may begin a stop string
    private int[] ids = new int[16];
    private int count;
    private String text = "";
    private int emitted;
    private boolean stopped;

    TextOutput(Function<int[], String> decode, List<String> stops) {
        this.decode = decode;
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
        this.holdBack = this.stops.stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /** Adds a token; returns the text that may be sent now (possibly empty). */
    String add(int id) {
        if (stopped) return "";
        if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
        ids[count++] = id;
        text = decode.apply(Arrays.copyOf(ids, count));
        int cut = firstStop();
        if (cut >= 0) {
            stopped = true;
            text = text.substring(0, cut);
            return take(text.length());
        }
        if (!text.isEmpty() && text.charAt(text.length() - 1) == REPLACEMENT) return "";
        return take(Math.max(emitted, text.length() - holdBack));
    }

    /** Whether a stop string was found (the generation should end, with finish_reason "stop"). */
    boolean stopped() {
        return stopped;
    }

    /** The rest of the text at the end of the generation. */
    String finish() {
        return take(text.length());
    }

    /** All the text, as it ends. */
    String text() {
        return text;
    }

    private int firstStop() {
        int best = -1;
        for (String s : stops) {
            int i = text.indexOf(s, Math.max(0, emitted - s.length()));
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    private String take(int upTo) {
        if (upTo <= emitted) return "";
        String piece = text.substring(emitted, upTo);
        emitted = upTo;
        return piece;
    }
}
