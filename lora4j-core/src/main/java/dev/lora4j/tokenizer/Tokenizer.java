package dev.lora4j.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.gguf.GgufFile;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A model directory's {@code tokenizer.json}, run by the reference Hugging Face tokenizers library
 * (Rust, through DJL's binding; natives ship in the jar, no network). Encodes without special tokens,
 * truncation or padding: the caller decides how text is windowed.
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final Path model;

    private Tokenizer(HuggingFaceTokenizer tokenizer, Path file, Path model) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.model = model;
    }

    /** Whether {@code model} (a model directory or a GGUF file) has a tokenizer. */
    public static boolean available(Path model) {
        return GgufFile.isGguf(model) || Files.exists(model.resolve("tokenizer.json"), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Loads {@code dir/tokenizer.json}, or, when {@code dir} is a GGUF file, the tokenizer.json its
     * {@code tokenizer.ggml.*} vocabulary describes ({@link GgufVocab}).
     */
    public static Tokenizer load(Path dir) {
        if (GgufFile.isGguf(dir)) {
            String json;
            try (GgufFile gguf = GgufFile.open(dir)) {
                json = GgufVocab.tokenizerJson(gguf);
            }
            try {
                HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
                        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
                return new Tokenizer(t, dir, dir);
            } catch (IOException | RuntimeException e) {
                throw new Lora4jException(dir + ": cannot load the tokenizer of its tokenizer.ggml metadata: " + e.getMessage(), e);
            }
        }
        Path file = dir.resolve("tokenizer.json");
        InputFile.requireRegular(file, "a Hugging Face tokenizer.json");
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
            return new Tokenizer(t, file, dir);
        } catch (IOException | RuntimeException e) {
            throw new Lora4jException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text}, no special tokens added. */
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return tokenizer.decode(l, false);
    }

    /** The tokenizer.json, or the GGUF file it was built from. */
    public Path file() {
        return file;
    }

    /** The model directory or GGUF file it belongs to (where its chat template is). */
    public Path model() {
        return model;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
