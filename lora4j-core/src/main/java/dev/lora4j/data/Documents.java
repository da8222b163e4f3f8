package dev.lora4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Language-model data as token sequences: a {@code .txt} file is one document; a {@code .jsonl} file has
 * one JSON object per line with {@code "text"} (tokenized here), {@code "input_ids"} (used as given), or
 * {@code "prompt"} + {@code "completion"} (only the completion, followed by the end-of-text token when
 * the model has one, is scored). Errors name the file, the line and the offending field or id.
 */
public final class Documents {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Documents() {}

    /** Sequences of {@code file} without an end-of-text token (evaluation of plain text). */
    public static List<Sequence> load(Path file, Tokenizer tokenizer, int vocabSize) {
        return load(file, tokenizer, vocabSize, -1);
    }

    /**
     * Sequences of {@code file}; ids are checked against {@code vocabSize}. {@code tokenizer} may be null
     * for id-only data; {@code eos} (or −1) is appended to each completion.
     */
    public static List<Sequence> load(Path file, Tokenizer tokenizer, int vocabSize, int eos) {
        if (!Files.isRegularFile(file)) throw new Lora4jException(file + ": not found");
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        List<Sequence> docs = new ArrayList<>();
        try {
            if (name.endsWith(".txt")) {
                String text = Files.readString(file, StandardCharsets.UTF_8);
                if (!text.isEmpty()) docs.add(Sequence.text(check(file, 0, requireTokenizer(file, tokenizer).encode(text), vocabSize)));
            } else if (name.endsWith(".jsonl")) {
                readJsonl(file, tokenizer, vocabSize, eos, docs);
            } else {
                throw new Lora4jException(file + ": unsupported data file type (expected .txt or .jsonl)");
            }
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot read: " + e.getMessage(), e);
        }
        long tokens = docs.stream().mapToLong(d -> d.ids().length).sum();
        if (tokens == 0) throw new Lora4jException(file + ": no tokens (the file is empty)");
        return docs;
    }

    private static void readJsonl(Path file, Tokenizer tokenizer, int vocabSize, int eos, List<Sequence> docs) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new Lora4jException(file + ":" + lineNo + ": not valid JSON: " + e.getOriginalMessage());
                }
                if (node.has("input_ids")) {
                    docs.add(Sequence.text(check(file, lineNo, ids(file, lineNo, node.get("input_ids")), vocabSize)));
                } else if (node.path("text").isTextual()) {
                    docs.add(Sequence.text(check(file, lineNo, requireTokenizer(file, tokenizer).encode(node.get("text").asText()), vocabSize)));
                } else if (node.path("prompt").isTextual() && node.path("completion").isTextual()) {
                    Tokenizer t = requireTokenizer(file, tokenizer);
                    int[] prompt = t.encode(node.get("prompt").asText()), completion = t.encode(node.get("completion").asText());
                    if (prompt.length == 0 || completion.length == 0) {
                        throw new Lora4jException(file + ":" + lineNo + ": \"prompt\" and \"completion\" must both be non-empty");
                    }
                    int n = prompt.length + completion.length + (eos >= 0 ? 1 : 0);
                    int[] ids = java.util.Arrays.copyOf(prompt, n);
                    System.arraycopy(completion, 0, ids, prompt.length, completion.length);
                    if (eos >= 0) ids[n - 1] = eos;
                    docs.add(new Sequence(check(file, lineNo, ids, vocabSize), prompt.length));
                } else {
                    throw new Lora4jException(file + ":" + lineNo
                            + ": expected an object with \"text\" (a string), \"prompt\" + \"completion\" (strings) or \"input_ids\" (a list of ints)");
                }
            }
        }
    }

    private static int[] ids(Path file, int lineNo, JsonNode arr) {
        if (!arr.isArray()) throw new Lora4jException(file + ":" + lineNo + ": \"input_ids\" must be a list of integers");
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = arr.get(i);
            if (!v.canConvertToInt()) {
                throw new Lora4jException(file + ":" + lineNo + ": \"input_ids\"[" + i + "] is " + v + ", not an integer");
            }
            out[i] = v.asInt();
        }
        return out;
    }

    private static int[] check(Path file, int lineNo, int[] ids, int vocabSize) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                String where = lineNo > 0 ? file + ":" + lineNo : file.toString();
                throw new Lora4jException(where + ": token id " + ids[i] + " (position " + i + ") is outside the model's vocabulary [0, " + vocabSize + ")");
            }
        }
        return ids;
    }

    private static Tokenizer requireTokenizer(Path file, Tokenizer tokenizer) {
        if (tokenizer == null) throw new Lora4jException(file + ": holds text but the model directory has no tokenizer.json");
        return tokenizer;
    }
}
