package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.model.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data files to windows (text, prompt + completion, conversations scored on assistant turns only as TRL's
 * assistant_only_loss), and evaluation end to end against the PyTorch loss of the tiny GPT-2.
 */
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
    void aTargetIsScoredWhenTheTokenItPredictsIs() {
        boolean[] scored = {false, false, true, false, false, false, true};
        List<Window> w = Window.pack(List.of(new Sequence(new int[] {1, 2, 3, 4, 5, 6, 7}, scored)), 2);
        assertEquals(2, w.size(), "the window predicting 4 and 5 scores nothing and is dropped");
        assertArrayEquals(new int[] {-100, 3}, w.get(0).targets());
        assertArrayEquals(new int[] {5, 6}, w.get(1).ids());
        assertArrayEquals(new int[] {-100, 7}, w.get(1).targets());
        assertThrows(IllegalArgumentException.class, () -> new Sequence(new int[] {1, 2}, new boolean[] {true, true}));
    }

    @Test
    void conversationsScoreOnlyAssistantTurnsAndTheirEndMarker() throws IOException {
        Path model = chatModel("qwen2-instruct");
        Path jsonl = Files.writeString(tmp.resolve("chat.jsonl"), """
                {"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},\
                 {"role": "assistant", "content": "Hello there."}, {"role": "user", "content": "Bye"},\
                 {"role": "assistant", "content": "Farewell."}]}
                """);
        String prompt1 = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        String answer1 = "Hello there.<|im_end|>";
        String prompt2 = "\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n";
        String answer2 = "Farewell.<|im_end|>";
        try (Tokenizer tok = Tokenizer.load(model)) {
            Sequence s = Documents.load(jsonl, tok, 50257, 50256).get(0);
            assertArrayEquals(tok.encode(prompt1 + answer1 + prompt2 + answer2 + "\n"), s.ids(), "the whole rendering, tokenized once, no eos added");
            assertEquals(List.of(answer1, answer2), scoredRuns(tok, s));
            int[] pieces = Stream.of(prompt1, answer1, prompt2, answer2, "\n")
                    .flatMapToInt(p -> Arrays.stream(tok.encode(p))).toArray();
            assertArrayEquals(s.ids(), pieces, "no BPE merge crosses a turn boundary here, so the spans are exact");
            int targets = Window.pack(List.of(s), 16).stream().mapToInt(w -> CrossEntropy.countTargets(w.targets())).sum();
            assertEquals(s.scoredCount(), targets);
        }
    }

    @Test
    void aTokenMergedAcrossATurnBoundaryIsScored() throws IOException {
        Path model = chatModel(null);
        Files.writeString(model.resolve("tokenizer_config.json"), "{\"chat_template\": \"{% for m in messages %}{{ m.content }}{% endfor %}\"}");
        Path jsonl = Files.writeString(tmp.resolve("merge.jsonl"), """
                {"messages": [{"role": "user", "content": "Hello wo"}, {"role": "assistant", "content": "rld!"}]}
                {"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": " wo"}, {"role": "user", "content": "rld!"}]}
                """);
        try (Tokenizer tok = Tokenizer.load(model)) {
            List<Sequence> s = Documents.load(jsonl, tok, 50257);
            assertArrayEquals(new int[] {15496, 995, 0}, s.get(0).ids(), "Hello| world|!");
            assertArrayEquals(new boolean[] {false, true, true}, s.get(0).scored(), "' world' holds the span's first character");
            assertArrayEquals(new boolean[] {false, true, false}, s.get(1).scored(), "' world' holds the span's last character");
        }
    }

    @Test
    void badConversationsNameFileAndLine() throws IOException {
        try (Tokenizer tok = Tokenizer.load(chatModel("mistral-instruct")); Tokenizer plain = Tokenizer.load(tiny)) {
            String ok = "{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}";
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("m1.jsonl"), "{\"messages\": []}\n"), tok, 50257),
                    "m1.jsonl:1", "non-empty list");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("m2.jsonl"), "{\"messages\": [" + ok + "]}\n"
                    + "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}\n"), tok, 50257), "m2.jsonl:2", "messages[0]", "\"tool\"");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("m3.jsonl"),
                    "{\"messages\": [{\"role\": \"user\", \"content\": []}]}\n"), tok, 50257), "m3.jsonl:1", "\"content\" is []");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("m4.jsonl"),
                    "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n"), tok, 50257), "m4.jsonl:1", "no \"assistant\" message");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("m5.jsonl"),
                    "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, " + ok + "]}\n"), tok, 50257),
                    "m5.jsonl:1", "tokenizer_config.json", "conversation roles must alternate");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("m6.jsonl"), "{\"messages\": [" + ok + "]}\n"), plain, 50257),
                    "m6.jsonl:1", "gpt2-tiny", "tokenizer_config.json", "no \"chat_template\"");
        }
    }

    /** A model directory with gpt2-tiny's tokenizer and the tokenizer_config.json of testdata/chat/{@code template} (if any). */
    private Path chatModel(String template) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model-" + template));
        Files.copy(tiny.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        if (template != null) Files.copy(TestData.dir("chat").resolve(template).resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        return dir;
    }

    /** The text of each run of scored tokens. */
    private static List<String> scoredRuns(Tokenizer tok, Sequence s) {
        List<String> runs = new ArrayList<>();
        for (int t = 0; t < s.ids().length; t++) {
            if (!s.scored()[t] || (t > 0 && s.scored()[t - 1])) continue;
            int end = t;
            while (end < s.ids().length && s.scored()[end]) end++;
            runs.add(tok.decode(Arrays.copyOfRange(s.ids(), t, end)));
        }
        return runs;
    }

    @Test
    void promptCompletionLinesEndWithEosAndScoreOnlyTheCompletion() throws IOException {
        Path jsonl = Files.writeString(tmp.resolve("pc.jsonl"), "{\"prompt\": \"Hello\", \"completion\": \" world\"}\n");
        try (Tokenizer tok = Tokenizer.load(tiny)) {
            List<Sequence> s = Documents.load(jsonl, tok, 50257, 50256);
            assertArrayEquals(new int[] {15496, 995, 50256}, s.get(0).ids());
            assertArrayEquals(new boolean[] {false, true, true}, s.get(0).scored());
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
