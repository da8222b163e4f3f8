// config.json access: typed fields, defaults for absent or null fields, and error messages that
// name the file, the field, what was expected and what was found.
package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfConfigTest {
    private static final String GPT2 = """
            {
              "model_type": "gpt2",
              "n_embd": 768,
              "n_layer": 12,
              "layer_norm_epsilon": 1e-05,
              "rope_theta": 10000,
              "scale_attn_weights": true,
              "activation_function": "gelu_new",
              "sliding_window": null,
              "rope_scaling": {"type": "linear", "factor": 2.0},
              "n_head": "12",
              "vocab_size": 50257.0,
              "huge": 3000000000
            }
            """;

    @TempDir
    Path dir;

    private static void assertMessage(Lora4jException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }

    @Test
    void typedAccessors() {
        HfConfig c = HfConfig.parse(GPT2, "config.json");
        assertEquals("config.json", c.source());
        assertEquals("gpt2", c.modelType());
        assertEquals(768, c.requireInt("n_embd"));
        assertEquals(1e-5, c.requireDouble("layer_norm_epsilon"));
        assertEquals(10000.0, c.requireDouble("rope_theta"));
        assertEquals(12, c.intOr("n_layer", 6));
        assertEquals(6, c.intOr("n_inner", 6));
        assertEquals(4096, c.intOr("sliding_window", 4096));
        assertEquals(0.1, c.doubleOr("attn_pdrop", 0.1));
        assertEquals("gelu_new", c.stringOr("activation_function", "gelu"));
        assertEquals("gelu", c.stringOr("hidden_act", "gelu"));
        assertTrue(c.boolOr("scale_attn_weights", false));
        assertTrue(c.boolOr("tie_word_embeddings", true));
        assertTrue(c.has("n_embd"));
        assertFalse(c.has("sliding_window"));
        assertEquals(2.0, c.raw().get("rope_scaling").get("factor").doubleValue());
    }

    @Test
    void readsAFile() throws IOException {
        Path file = Files.writeString(dir.resolve("config.json"), GPT2);
        HfConfig c = HfConfig.read(file);
        assertEquals("gpt2", c.modelType());
        assertEquals(file.toString(), c.source());
    }

    @Test
    void missingField() {
        HfConfig c = HfConfig.parse(GPT2, "config.json");
        assertMessage(assertThrows(Lora4jException.class, () -> c.requireInt("hidden_size")),
                "config.json", "'hidden_size'", "missing", "an integer");
        assertMessage(assertThrows(Lora4jException.class, () -> c.requireInt("sliding_window")),
                "config.json", "'sliding_window'", "null");
        assertMessage(assertThrows(Lora4jException.class, () -> HfConfig.parse("{}", "config.json").modelType()),
                "config.json", "'model_type'", "missing");
    }

    @Test
    void wrongType() {
        HfConfig c = HfConfig.parse(GPT2, "config.json");
        assertMessage(assertThrows(Lora4jException.class, () -> c.requireInt("n_head")),
                "config.json", "'n_head'", "a string \"12\"", "expected an integer");
        assertMessage(assertThrows(Lora4jException.class, () -> c.requireInt("vocab_size")),
                "'vocab_size'", "50257.0", "expected an integer");
        assertMessage(assertThrows(Lora4jException.class, () -> c.requireInt("huge")), "'huge'", "3000000000");
        assertMessage(assertThrows(Lora4jException.class, () -> c.intOr("n_head", 1)), "'n_head'");
        assertMessage(assertThrows(Lora4jException.class, () -> c.requireDouble("activation_function")),
                "'activation_function'", "expected a number");
        assertMessage(assertThrows(Lora4jException.class, () -> c.boolOr("n_embd", true)),
                "'n_embd'", "an integer 768", "true or false");
        assertMessage(assertThrows(Lora4jException.class, () -> c.stringOr("rope_scaling", "none")),
                "'rope_scaling'", "an object", "expected a string");
    }

    @Test
    void malformedJsonNamesLineAndColumn() throws IOException {
        Path file = Files.writeString(dir.resolve("config.json"), "{\n  \"model_type\": \"gpt2\",\n  \"n_embd\": ,\n}");
        var e = assertThrows(Lora4jException.class, () -> HfConfig.read(file));
        assertMessage(e, file.toString(), "not valid JSON", "line 3, column 13");
        assertMessage(assertThrows(Lora4jException.class, () -> HfConfig.parse("[1]", "cfg")), "cfg", "an array");
        assertMessage(assertThrows(Lora4jException.class, () -> HfConfig.parse("", "cfg")), "cfg", "empty");
        assertMessage(assertThrows(Lora4jException.class, () -> HfConfig.read(dir.resolve("missing.json"))),
                "missing.json", "not found");
    }
}
