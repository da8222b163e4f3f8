package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.io.gguf.GgufValueType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF vocabulary ({@code tokenizer.ggml.*}, llama.cpp llama-vocab.cpp) as the Hugging Face tokenizer.json that gives
 * the same ids, and back. Two kinds: {@code gpt2} (byte-level BPE with merges; the pre-tokenizer regex named by
 * {@code tokenizer.ggml.pre}: gpt-2, llama-bpe, qwen2) and {@code llama} (SentencePiece BPE with byte fallback, which
 * llama.cpp merges by score: the tokenizer.json's merges are ranked by the merged piece's score, as transformers'
 * SentencePieceExtractor orders them, and written back as score = −rank).
 */
public final class GgufVocab {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** llama.cpp's token types (llama.h llama_token_type). */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
    /** The split regexes of llama.cpp's pre-tokenizers (llama-vocab.cpp), as the models' tokenizer.json write them. */
    static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private GgufVocab() {}

    /** The tokenizer.json of a GGUF file's vocabulary. */
    public static String tokenizerJson(GgufFile f) {
        String model = f.string("tokenizer.ggml.model");
        List<?> tokens = f.array("tokenizer.ggml.tokens", GgufValueType.STRING);
        List<?> types = f.has("tokenizer.ggml.token_type") ? f.array("tokenizer.ggml.token_type", GgufValueType.INT32) : null;
        if (types != null && types.size() != tokens.size()) {
            throw new Lora4jException(f.path() + ": tokenizer.ggml.token_type has " + types.size() + " entries for " + tokens.size() + " tokens");
        }
        ObjectNode root = MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = MAPPER.createObjectNode();
        for (int id = 0; id < tokens.size(); id++) {
            String t = (String) tokens.get(id);
            if (vocab.has(t)) throw new Lora4jException(f.path() + ": tokenizer.ggml.tokens holds '" + t + "' twice (ids " + vocab.get(t).intValue() + " and " + id + ")");
            vocab.put(t, id);
            int type = types == null ? NORMAL : ((Long) types.get(id)).intValue();
            if (type == CONTROL || type == USER_DEFINED || (type == UNKNOWN && !model.equals("llama"))) {
                added.addObject().put("id", id).put("content", t).put("single_word", false).put("lstrip", false).put("rstrip", false)
                        .put("normalized", false).put("special", type != USER_DEFINED);
            }
        }
        ObjectNode bpe = MAPPER.createObjectNode().put("type", "BPE").putNull("dropout");
        switch (model) {
            case "gpt2" -> {
                String pre = f.has("tokenizer.ggml.pre") ? f.string("tokenizer.ggml.pre") : "default";
                byteLevel(root, pre, f);
                bpe.putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix").put("fuse_unk", false)
                        .put("byte_fallback", false).put("ignore_merges", pre.equals("llama-bpe"));
                bpe.set("vocab", vocab);
                ArrayNode merges = bpe.putArray("merges");
                for (Object m : f.array("tokenizer.ggml.merges", GgufValueType.STRING)) merges.add((String) m);
            }
            case "llama" -> {
                sentencePiece(root, !f.has("tokenizer.ggml.add_space_prefix") || f.bool("tokenizer.ggml.add_space_prefix"));
                List<?> scores = f.array("tokenizer.ggml.scores", GgufValueType.FLOAT32);
                if (scores.size() != tokens.size()) throw new Lora4jException(f.path() + ": tokenizer.ggml.scores has " + scores.size() + " entries for " + tokens.size() + " tokens");
                long unk = f.has("tokenizer.ggml.unknown_token_id") ? f.integer("tokenizer.ggml.unknown_token_id", 0, tokens.size() - 1) : 0;
                if (unk != 0 || f.has("tokenizer.ggml.unknown_token_id")) bpe.put("unk_token", (String) tokens.get((int) unk));
                else bpe.putNull("unk_token");
                bpe.putNull("continuing_subword_prefix").putNull("end_of_word_suffix").put("fuse_unk", true).put("byte_fallback", true).put("ignore_merges", false);
                bpe.set("vocab", vocab);
                ArrayNode merges = bpe.putArray("merges");
                for (String m : mergesByScore(tokens, scores, types)) merges.add(m);
            }
            default -> throw new Lora4jException(f.path() + ": tokenizer.ggml.model '" + model + "' is not supported (gpt2, llama)");
        }
        root.set("model", bpe);
        return root.toString();
    }

    /**
     * SentencePiece merges: every split of a normal piece into two pieces of the vocabulary, ranked by the merged
     * piece's score (highest first; ties by the ids of the two halves), as llama.cpp's SPM tokenizer prefers them.
     */
    private static List<String> mergesByScore(List<?> tokens, List<?> scores, List<?> types) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < tokens.size(); i++) ids.put((String) tokens.get(i), i);
        record Merge(String left, String right, float score, int l, int r) {}
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            if (types != null && ((Long) types.get(id)).intValue() != NORMAL) continue;
            String piece = (String) tokens.get(id);
            for (int cut = piece.offsetByCodePoints(0, 1); cut < piece.length(); cut = piece.offsetByCodePoints(cut, 1)) {
                Integer l = ids.get(piece.substring(0, cut)), r = ids.get(piece.substring(cut));
                if (l != null && r != null) merges.add(new Merge(piece.substring(0, cut), piece.substring(cut), (Float) scores.get(id), l, r));
            }
        }
        merges.sort(Comparator.comparingDouble((Merge m) -> -m.score()).thenComparingInt(Merge::l).thenComparingInt(Merge::r));
        return merges.stream().map(m -> m.left() + " " + m.right()).toList();
    }

    private static void byteLevel(ObjectNode root, String pre, GgufFile f) {
        String regex = switch (pre) {
            case "gpt-2", "gpt2", "default" -> null;            // "gpt2": what lora4j wrote before it used llama.cpp's name
            case "llama-bpe", "llama3" -> LLAMA3_REGEX;
            case "qwen2" -> QWEN2_REGEX;
            default -> throw new Lora4jException(f.path() + ": tokenizer.ggml.pre '" + pre + "' is not supported (gpt-2, llama-bpe, qwen2)");
        };
        if (pre.equals("qwen2")) root.putObject("normalizer").put("type", "NFC");
        else root.putNull("normalizer");
        ObjectNode byteLevel = MAPPER.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", regex == null);
        if (regex == null) {
            root.set("pre_tokenizer", byteLevel);
        } else {
            ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            ObjectNode split = list.addObject().put("type", "Split");
            split.putObject("pattern").put("Regex", regex);
            split.put("behavior", "Isolated").put("invert", false);
            list.add(byteLevel);
        }
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
    }

    /** The normalizer and decoder of Llama's tokenizer.json (LlamaConverter): "▁" prepended and for spaces; bytes fall back. */
    private static void sentencePiece(ObjectNode root, boolean addSpacePrefix) {
        ObjectNode norm = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        if (addSpacePrefix) ns.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = ns.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        root.putNull("pre_tokenizer");
        root.putNull("post_processor");
        ObjectNode dec = root.putObject("decoder").put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode r = ds.addObject().put("type", "Replace");
        r.putObject("pattern").put("String", "▁");
        r.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        if (addSpacePrefix) ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
    }

    /**
     * The {@code tokenizer.ggml.*} metadata of a Hugging Face tokenizer.json ({@code json}, read from {@code source}) for a
     * model whose embedding has {@code rows} rows, as llama.cpp's convert_hf_to_gguf.py writes it: one token per row (the
     * vocabulary and the added tokens under their ids, every id that neither names {@code [PAD<id>]} of type UNUSED); byte-level BPE
     * becomes "gpt2" with its pre-tokenizer recognised from the regex, SentencePiece-style BPE with byte fallback becomes
     * "llama" with score = −(rank of the merge that makes the piece). Anything else is refused, and so is a token id at
     * or beyond {@code rows} (llama.cpp would read the file as a vocabulary that does not fit the model).
     */
    public static Map<String, GgufValue> metadata(JsonNode json, String source, int rows) {
        JsonNode model = json.path("model");
        if (!"BPE".equals(model.path("type").asText())) {
            throw new Lora4jException(source + ": model type '" + model.path("type").asText() + "' cannot be written to GGUF (BPE only)");
        }
        String[] tokens = new String[rows];
        for (Map.Entry<String, JsonNode> e : model.path("vocab").properties()) {
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= rows) throw new Lora4jException(source + ": token '" + e.getKey() + "' has id " + id + ", outside the model's " + rows + " embedding rows");
            if (tokens[id] != null) throw new Lora4jException(source + ": id " + id + " names both '" + tokens[id] + "' and '" + e.getKey() + "'");
            tokens[id] = e.getKey();
        }
        Map<Integer, Boolean> special = new LinkedHashMap<>();
        for (JsonNode a : json.path("added_tokens")) {
            int id = a.path("id").asInt(-1);
            String content = a.path("content").asText();
            if (id < 0 || id >= rows) throw new Lora4jException(source + ": added token '" + content + "' has id " + id + ", outside the model's " + rows + " embedding rows");
            if (tokens[id] != null && !tokens[id].equals(content)) {
                throw new Lora4jException(source + ": added token '" + content + "' has id " + id + ", which the vocabulary gives to '" + tokens[id] + "'");
            }
            tokens[id] = content;
            special.put(id, a.path("special").asBoolean(false));
        }
        int n = rows;
        boolean[] unused = new boolean[n];
        for (int id = 0; id < n; id++) {
            if (tokens[id] == null) {
                tokens[id] = "[PAD" + id + "]";
                unused[id] = true;
            }
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        List<Long> types = new ArrayList<>();
        if (!byteFallback) {
            kv.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
            kv.put("tokenizer.ggml.pre", GgufValue.string(preTokenizer(json, source)));
            for (int id = 0; id < n; id++) types.add((long) (unused[id] ? UNUSED : special.containsKey(id) ? (special.get(id) ? CONTROL : USER_DEFINED) : NORMAL));
            kv.put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, List.of(tokens)));
            kv.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, types));
            kv.put("tokenizer.ggml.merges", GgufValue.array(GgufValueType.STRING, merges));
            return kv;
        }
        String unk = model.path("unk_token").isTextual() ? model.get("unk_token").asText() : null;
        Map<String, Integer> rank = new LinkedHashMap<>();
        for (int i = 0; i < merges.size(); i++) rank.putIfAbsent(merges.get(i).replace(" ", ""), i);
        List<Float> scores = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            String t = tokens[id];
            boolean isByte = t.matches("<0x[0-9A-F]{2}>");
            types.add((long) (unused[id] ? UNUSED : t.equals(unk) ? UNKNOWN : special.containsKey(id) ? (special.get(id) ? CONTROL : USER_DEFINED) : isByte ? BYTE : NORMAL));
            scores.add(unused[id] ? -1000f : rank.containsKey(t) ? -(float) rank.get(t) : special.containsKey(id) || isByte ? 0f : -1e9f);
        }
        kv.put("tokenizer.ggml.model", GgufValue.string("llama"));
        kv.put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, List.of(tokens)));
        kv.put("tokenizer.ggml.scores", GgufValue.array(GgufValueType.FLOAT32, scores));
        kv.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, types));
        if (unk != null) kv.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(List.of(tokens).indexOf(unk)));
        kv.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(json.path("normalizer").toString().contains("\"Prepend\"")));
        return kv;
    }

    /** llama.cpp's name of a byte-level tokenizer.json's pre-tokenizer, recognised from its split regex. */
    private static String preTokenizer(JsonNode json, String source) {
        JsonNode pre = json.path("pre_tokenizer");
        if (pre.path("type").asText().equals("ByteLevel") && pre.path("use_regex").asBoolean(false)) return "gpt-2";
        for (JsonNode p : pre.path("pretokenizers")) {
            String regex = p.path("pattern").path("Regex").asText("");
            if (regex.equals(LLAMA3_REGEX)) return "llama-bpe";
            if (regex.equals(QWEN2_REGEX)) return "qwen2";
        }
        throw new Lora4jException(source + ": its pre-tokenizer is none that lora4j can name for llama.cpp (GPT-2's byte level, Llama 3's or Qwen2's split regex)");
    }
}
