package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.model.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Data files to windows, and evaluation end to end against the PyTorch loss of the tiny GPT-2. */
class DocumentsTest {
    private final Path tiny = TestData.dir("gpt2-tiny");
    private final JsonNode golden = TestData.json(tiny.resolve("golden.json"));
    @TempDir
    Path tmp;

    @Test
    void windowsPredictEveryTokenButTheFirstOnce() {
        List<Window> w = Window.packTexts(List.of(new int[] {1, 2, 3, 4, 5, 6, 7}, new int[] {9}, new int[] {8, 9}), 3);
        assertEquals(3, w.size());
        assertArrayEquals(new int[] {1, 2, 3}, w.get(0).ids());
        assertArrayEquals(new int[] {2, 3, 4}, w.get(0).targets());
        assertArrayEquals(new int[] {4, 5, 6}, w.get(1).ids());
        assertArrayEquals(new int[] {5, 6, 7}, w.get(1).targets());
        assertArrayEquals(new int[] {8}, w.get(2).ids());
        assertArrayEquals(new int[] {9}, w.get(2).targets());
    }

    @Test
    void promptTokensAreNotScored() {
        List<Window> w = Window.pack(List.of(new Sequence(new int[] {1, 2, 3, 4, 5, 6, 7}, 5)), 3);
        assertEquals(1, w.size(), "the first window scores nothing and is dropped");
        assertArrayEquals(new int[] {4, 5, 6}, w.get(0).ids());
        assertArrayEquals(new int[] {-100, 6, 7}, w.get(0).targets());
    }

    @Test
    void promptCompletionLinesEndWithEosAndScoreOnlyTheCompletion() throws IOException {
        Path jsonl = Files.writeString(tmp.resolve("pc.jsonl"), "{\"prompt\": \"Hello\", \"completion\": \" world\"}\n");
        try (Tokenizer tok = Tokenizer.load(tiny)) {
            List<Sequence> s = Documents.load(jsonl, tok, 50257, 50256);
            assertArrayEquals(new int[] {15496, 995, 50256}, s.get(0).ids());
            assertEquals(1, s.get(0).scoredFrom());
            assertArrayEquals(new int[] {995, 50256}, Window.pack(s, 8).get(0).targets());
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("pc2.jsonl"), "{\"prompt\": \"\", \"completion\": \"x\"}\n"),
                    tok, 50257, 50256), "pc2.jsonl:1", "non-empty");
        }
    }

    @Test
    void evalOfTextMatchesPyTorchLossInAnyWindowingThatKeepsOneWindow() throws IOException {
        CausalLm model = ModelLoader.load(tiny);
        String text = golden.get("text").asText();
        Path txt = Files.writeString(tmp.resolve("a.txt"), text);
        Path jsonl = Files.writeString(tmp.resolve("a.jsonl"), "{\"text\": " + golden.get("text") + "}\n\n"
                + "{\"input_ids\": " + golden.get("input_ids") + "}\n");
        try (Tokenizer tok = Tokenizer.load(tiny)) {
            double expected = golden.get("loss").asDouble();
            Evaluator.Result r = Evaluator.evaluate(model, Window.pack(Documents.load(txt, tok, 50257), 64), 4, n -> {});
            assertEquals(expected, r.loss(), 1e-4 * expected);
            assertEquals(golden.get("input_ids").size() - 1, r.tokens());
            Evaluator.Result j = Evaluator.evaluate(model, Window.pack(Documents.load(jsonl, tok, 50257), 64), 4, n -> {});
            assertEquals(expected, j.loss(), 1e-4 * expected);
            assertEquals(2 * r.tokens(), j.tokens());
            Evaluator.Result split = Evaluator.evaluate(model, Window.pack(Documents.load(txt, tok, 50257), 10), 3, n -> {});
            assertEquals(r.tokens(), split.tokens(), "shorter windows still score every token once");
        }
    }

    @Test
    void badDataFilesNameFileLineAndValue() throws IOException {
        try (Tokenizer tok = Tokenizer.load(tiny)) {
            assertError(() -> Documents.load(tmp.resolve("missing.txt"), tok, 50257), "missing.txt", "not found");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("empty.txt"), ""), tok, 50257), "empty.txt", "no tokens");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("blank.jsonl"), "\n\n"), tok, 50257), "blank.jsonl", "no tokens");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("d.csv"), "x"), tok, 50257), "d.csv", ".txt or .jsonl");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("b.jsonl"), "{\"text\": \"ok\"}\n{oops\n"), tok, 50257),
                    "b.jsonl:2", "not valid JSON");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("c.jsonl"), "{\"input_ids\": [1, 50257]}\n"), tok, 50257),
                    "c.jsonl:1", "token id 50257");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("e.jsonl"), "{\"input_ids\": [1, \"x\"]}\n"), tok, 50257),
                    "e.jsonl:1", "\"input_ids\"[1]");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("f.jsonl"), "{\"prompt\": \"x\"}\n"), tok, 50257),
                    "f.jsonl:1", "\"text\"");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("g.txt"), "hello"), tok, 100), "g.txt", "outside the model's vocabulary");
        }
    }

    private static void assertError(Executable r, String... parts) {
        String msg = assertThrows(Lora4jException.class, r).getMessage();
        for (String p : parts) assertTrue(msg.contains(p), "'" + p + "' missing from: " + msg);
    }
}
