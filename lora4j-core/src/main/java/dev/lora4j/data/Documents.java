package dev.lora4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.Json;
import dev.lora4j.tokenizer.ChatTemplate;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Language-model data as token sequences: a {@code .txt} file is one document (tokenised a chunk at a time, with the
 * ids of one encode of the whole text, see {@link TextTokens}); a {@code .jsonl} file has
 * one JSON object per line with {@code "text"} (tokenized here), {@code "input_ids"} (used as given),
 * {@code "prompt"} + {@code "completion"} (only the completion, followed by the end-of-text token when
 * the model has one, is scored), or {@code "messages"}: a conversation of {@code {"role", "content"}}
 * rendered with the model's chat template ({@link ChatTemplate}, from the tokenizer's directory) and
 * tokenized as a whole, of which only the assistant turns are scored, as TRL's {@code assistant_only_loss}.
 * Files must be UTF-8; each JSONL line one JSON object, parsed strictly (a duplicate key or a second value on the
 * line is an error). Errors name the file, the line and the offending field or id.
 */
public final class Documents {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private Documents() {}

    /** Sequences of {@code file} without an end-of-text token (evaluation of plain text). */
    public static List<Sequence> load(Path file, Tokenizer tokenizer, int vocabSize) {
        return load(file, tokenizer, vocabSize, -1);
    }

    /**
     * Sequences of {@code file}; ids are checked against {@code vocabSize}. {@code tokenizer} may be null
     * for id-only data; {@code eos} (or −1) is appended to each completion (not to conversations: their
     * template ends each turn).
     */
    public static List<Sequence> load(Path file, Tokenizer tokenizer, int vocabSize, int eos) {
        InputFile.requireRegular(file, "a data file");
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        List<Sequence> docs = new ArrayList<>();
        if (name.endsWith(".txt")) {
            if (size(file) > 0) {
                int[] ids = TextTokens.encode(file, requireTokenizer(file, tokenizer), TextTokens.CHUNK_CHARS);
                docs.add(Sequence.text(check(file, 0, ids, vocabSize)));
            }
        } else if (name.endsWith(".jsonl")) {
            readJsonl(file, tokenizer, vocabSize, eos, docs);
        } else {
            throw new Lora4jException(file + ": unsupported data file type (expected .txt or .jsonl)");
        }
        long scored = docs.stream().mapToLong(Sequence::scoredCount).sum();
        if (scored == 0) throw new Lora4jException(file + ": no tokens to score (the file is empty, or holds single-token documents)");
        return docs;
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static void readJsonl(Path file, Tokenizer tokenizer, int vocabSize, int eos, List<Sequence> docs) {
        try (Utf8Lines in = new Utf8Lines(file)) {
            ChatTemplate chat = null;
            for (String line = in.next(); line != null; line = in.next()) {
                int lineNo = in.lineNumber();
                if (line.isBlank()) continue;
                JsonNode node = Json.parseLine(line, file + ":" + lineNo);
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
                    int[] ids = Arrays.copyOf(prompt, n);
                    System.arraycopy(completion, 0, ids, prompt.length, completion.length);
                    if (eos >= 0) ids[n - 1] = eos;
                    docs.add(new Sequence(check(file, lineNo, ids, vocabSize), prompt.length));
                } else if (node.has("messages")) {
                    Tokenizer t = requireTokenizer(file, tokenizer);
                    if (chat == null) chat = chatTemplate(file, lineNo, t);
                    docs.add(conversation(file, lineNo, node.get("messages"), t, chat, vocabSize));
                } else {
                    throw new Lora4jException(file + ":" + lineNo + ": expected an object with \"text\" (a string), \"prompt\" + \"completion\""
                            + " (strings), \"messages\" (a list of {\"role\", \"content\"}) or \"input_ids\" (a list of ints)");
                }
            }
        }
    }

    private static ChatTemplate chatTemplate(Path file, int lineNo, Tokenizer tokenizer) {
        try {
            return ChatTemplate.load(tokenizer.model());
        } catch (Lora4jException e) {
            throw new Lora4jException(file + ":" + lineNo + ": \"messages\" need the model's chat template: " + e.getMessage(), e);
        }
    }

    /**
     * A conversation tokenized as a whole, scoring the tokens of each assistant span. A span's first token is
     * the first token that differs from tokenizing the text before it, and its end is where tokenizing the
     * text through it stops agreeing; a token that BPE merges across a boundary is scored, as TRL's
     * {@code char_to_token} marks it.
     */
    private static Sequence conversation(Path file, int lineNo, JsonNode messages, Tokenizer tokenizer, ChatTemplate template, int vocabSize) {
        String where = file + ":" + lineNo;
        if (!messages.isArray() || messages.isEmpty()) {
            throw new Lora4jException(where + ": \"messages\" must be a non-empty list of {\"role\", \"content\"}");
        }
        boolean assistant = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String role = m.path("role").asText(null);
            if (role == null || !ROLES.contains(role)) {
                throw new Lora4jException(where + ": messages[" + i + "] has role " + m.get("role") + ", expected \"system\", \"user\" or \"assistant\"");
            }
            if (!m.path("content").isTextual()) {
                throw new Lora4jException(where + ": messages[" + i + "] \"content\" is " + m.get("content") + ", expected a string");
            }
            assistant |= role.equals("assistant");
        }
        if (!assistant) throw new Lora4jException(where + ": no \"assistant\" message, so nothing to score (only assistant turns are)");
        ChatTemplate.Rendered rendered;
        try {
            rendered = template.renderForTraining(JSON.convertValue(messages, new TypeReference<List<Map<String, Object>>>() {}));
        } catch (Lora4jException e) {
            throw new Lora4jException(where + ": " + e.getMessage(), e);
        }
        String text = rendered.text();
        int[] ids = tokenizer.encode(text);
        boolean[] scored = new boolean[ids.length];
        for (ChatTemplate.Span span : rendered.assistant()) {
            int from = agreeing(ids, tokenizer.encode(text.substring(0, span.start())));
            int[] through = tokenizer.encode(text.substring(0, span.end()));
            int to = agreeing(ids, through);
            if (to < through.length) to++; // the token crossing the span's end
            Arrays.fill(scored, Math.max(from, 1), Math.max(to, 1), true);
        }
        return new Sequence(check(file, lineNo, ids, vocabSize), scored);
    }

    /** Length of the common prefix of {@code ids} and {@code prefix}. */
    private static int agreeing(int[] ids, int[] prefix) {
        int k = 0;
        while (k < ids.length && k < prefix.length && ids[k] == prefix[k]) k++;
        return k;
    }

    private static int[] ids(Path file, int lineNo, JsonNode arr) {
        if (!arr.isArray()) throw new Lora4jException(file + ":" + lineNo + ": \"input_ids\" must be a list of integers");
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = arr.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
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
