// Streaming decode as HF's TextStreamer: the pieces concatenate to the decoded text, and a character
// whose UTF-8 bytes span several byte-level BPE tokens is emitted whole, never as U+FFFD.
package dev.lora4j.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamerTest {
    @Test
    void multiByteCharactersSplitOverTokensComeOutWhole() {
        try (Tokenizer tokenizer = Tokenizer.load(TestData.dir("gpt2-tiny"))) {
            String text = "Ishmael 🐋 sailed — naïve 日本";
            int[] ids = tokenizer.encode(text);
            assertTrue(ids.length > text.split(" ").length, "some characters take several tokens");
            List<String> pieces = new ArrayList<>();
            TextStreamer streamer = new TextStreamer(tokenizer::decode, pieces::add);
            for (int id : ids) streamer.accept(id);
            streamer.finish();
            assertEquals(text, String.join("", pieces));
            for (String p : pieces) assertFalse(p.contains("\uFFFD"), "no replacement character in " + pieces);
            assertTrue(pieces.contains(" 🐋"), "the whale comes out in one piece: " + pieces);
        }
    }

    @Test
    void finishFlushesAnIncompleteCharacter() {
        List<String> pieces = new ArrayList<>();
        TextStreamer streamer = new TextStreamer(ids -> ids.length == 1 ? "a" : "a\uFFFD", pieces::add);
        streamer.accept(1);
        streamer.accept(2);
        assertEquals(List.of("a"), pieces);
        streamer.finish();
        assertEquals(List.of("a", "\uFFFD"), pieces);
    }
}
