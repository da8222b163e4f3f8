package dev.lora4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.testing.TestData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** GPT-2 tokenization through the reference library against ids from gpt-3-encoder's own JS encoder. */
class TokenizerTest {
    private final Path dir = TestData.dir("gpt2-tiny");
    private final JsonNode golden = TestData.json(dir.resolve("golden.json"));

    @Test
    void encodesLikeTheIndependentEncoderAndDecodesBack() {
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(TestData.ints(golden.get("hello_world_ids")), t.encode("Hello world"));
            String text = golden.get("text").asText();
            int[] ids = t.encode(text);
            assertArrayEquals(TestData.ints(golden.get("input_ids")), ids);
            assertEquals(text, t.decode(ids));
            assertEquals(5000, t.encode(" the".repeat(5000)).length, "no truncation of long texts");
        }
    }

    @Test
    void missingTokenizerIsAClearError() {
        String msg = assertThrows(Lora4jException.class, () -> Tokenizer.load(TestData.dir("gpt2-golden"))).getMessage();
        assertTrue(msg.contains("tokenizer.json") && msg.contains("not found"), msg);
    }
}
