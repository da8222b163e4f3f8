package dev.lora4j.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model directory's {@code tokenizer.json}, run by the reference Hugging Face tokenizers library
 * (Rust, through DJL's binding; natives ship in the jar, no network). Encodes without special tokens,
 * truncation or padding: the caller decides how text is windowed.
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private Tokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /** Loads {@code dir/tokenizer.json}. */
    public static Tokenizer load(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        InputFile.requireRegular(file, "a Hugging Face tokenizer.json");
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
            return new Tokenizer(t, file);
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

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
