// Fuzzes .jsonl training data: Documents.load with gpt2-tiny's tokenizer and Qwen2's chat template,
// so "text", "prompt" + "completion", "messages" and "input_ids" lines are all read.
// Any outcome but success or a Lora4jException fails.
package dev.lora4j.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.testing.Fuzz;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

class DocumentsFuzzTest {
    private static final int VOCAB = 50257, EOS = 50256;
    private static final String[] KEYS = {"text", "prompt", "completion", "messages", "input_ids", "role", "content",
            "\"assistant\"", "\"user\"", "\"system\""};

    @TempDir
    static Path dir;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void loadTokenizer() throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.copy(TestData.dir("gpt2-tiny").resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Files.copy(TestData.dir("chat").resolve("qwen2-instruct").resolve("tokenizer_config.json"), model.resolve("tokenizer_config.json"));
        tokenizer = Tokenizer.load(model);
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    static Stream<Named<byte[]>> seeds() {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        valid.put("text", utf8("{\"text\": \"Call me Ishmael.\"}\n{\"text\": \"Some years ago\"}\n"));
        valid.put("prompt and completion", utf8("{\"prompt\": \"Q: 2+2?\", \"completion\": \" 4\"}\n"));
        valid.put("messages", utf8("""
                {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}, \
                {"role": "assistant", "content": "Hello."}]}
                """));
        valid.put("input_ids", utf8("{\"input_ids\": [464, 3290, 50256]}\n\n{\"input_ids\": [0, 1]}\n"));
        return Fuzz.seeds(valid, Fuzz.oneOf(Fuzz.lines(Fuzz.json(KEYS)), Fuzz.lines(Fuzz.json(KEYS)), Fuzz.bytes(KEYS)),
                20260105L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Path file = Files.write(dir.resolve("train.jsonl"), input);
        Fuzz.parsesOrRejects(() -> Documents.load(file, tokenizer, VOCAB, EOS));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
