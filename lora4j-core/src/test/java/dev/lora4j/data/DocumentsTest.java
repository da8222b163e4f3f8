package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.nn.CausalLm;
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

    @Test
    void jsonlLinesAreParsedStrictly() throws IOException {
        try (Tokenizer tok = Tokenizer.load(tiny)) {
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("f.jsonl"), "{\"input_ids\": [464, 3.7, 11]}\n"), tok, 50257),
                    "f.jsonl:1", "\"input_ids\"[1] is 3.7, not an integer");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("two.jsonl"), "{\"text\": \"a b\"}\n{\"text\": \"c d\"} {\"text\": \"e\"}\n"),
                    tok, 50257), "two.jsonl:2", "a second JSON value starts at column 17");
            assertError(() -> Documents.load(Files.writeString(tmp.resolve("dup.jsonl"), "{\"text\": \"a b\", \"text\": \"c d\"}\n"), tok, 50257),
                    "dup.jsonl:1", "not valid JSON", "Duplicate field 'text'");
        }
    }

    @Test
    void invalidUtf8IsNamedWithLineAndByteOffset() throws IOException {
        byte[] bytes = "       \nbad \u00e9 \u00ff\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);   // line 1 blank: skipped in .jsonl
        bytes[15] = (byte) 0xFF;   // line 1 is 8 bytes, "bad é " 7 more: the first byte of ÿ becomes 0xFF
        try (Tokenizer tok = Tokenizer.load(tiny)) {
            for (String name : List.of("latin1.txt", "latin1.jsonl")) {
                Path f = Files.write(tmp.resolve(name), bytes);
                assertError(() -> Documents.load(f, tok, 50257), name + ":2: not UTF-8: byte 0xFF at byte offset 15 of the file (byte 8 of the line)");
            }
            Path truncated = Files.write(tmp.resolve("cut.txt"), java.util.Arrays.copyOf("caf\u00e9".getBytes(java.nio.charset.StandardCharsets.UTF_8), 4));
            assertError(() -> Documents.load(truncated, tok, 50257), "cut.txt:1: not UTF-8: byte 0xC3 at byte offset 3");
        }
    }

    @Test
    void textIsTokenisedInChunksWithTheIdsOfOneEncode() throws IOException {
        Path moby = TestData.dir("moby-dick");
        Path hostile = Files.writeString(tmp.resolve("hostile.txt"), "Call me Ishmael.\r\nSome years ago\n\nnever mind\n  Indented\n\tTab\n"
                + "Émile a dit: \"déjà\"\n\ud83d\ude00 emoji\nword\nWord's end.\n\n\n" + "x".repeat(700) + "\nLast line without break");
        Path prepending = Files.createDirectories(tmp.resolve("prepending"));   // every encode() call prepends "x": no cut is clean
        String gpt2 = Files.readString(tiny.resolve("tokenizer.json"));
        Files.writeString(prepending.resolve("tokenizer.json"), gpt2.replaceFirst("\"normalizer\": ?null", "\"normalizer\": {\"type\": \"Prepend\", \"prepend\": \"x\"}"));
        try (Tokenizer pre = Tokenizer.load(prepending); Tokenizer plain = Tokenizer.load(tiny)) {
            assertTrue(!Arrays.equals(pre.encode(" Hello"), plain.encode(" Hello")), "the variant prepends x");
        }
        for (Path dir : List.of(tiny, TestData.dir("bert-tiny"), prepending)) {
            try (Tokenizer tok = Tokenizer.load(dir)) {
                for (Path f : List.of(moby.resolve("train.txt"), moby.resolve("valid.txt"), hostile)) {
                    int[] whole = tok.encode(Files.readString(f));
                    for (int chunk : new int[] {1, 300, TextTokens.CHUNK_CHARS}) {
                        assertArrayEquals(whole, TextTokens.encode(f, tok, chunk), dir.getFileName() + " " + f.getFileName() + " in chunks of " + chunk);
                    }
                }
            }
        }
    }

    private static void assertError(Executable r, String... parts) {
        String msg = assertThrows(Lora4jException.class, r).getMessage();
        for (String p : parts) assertTrue(msg.contains(p), "'" + p + "' missing from: " + msg);
    }
}
