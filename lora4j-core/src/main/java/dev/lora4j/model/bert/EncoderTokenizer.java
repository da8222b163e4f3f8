package dev.lora4j.model.bert;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Text to encoder inputs as Hugging Face's {@code tokenizer(text, truncation=True, max_length=N)} gives them:
 * the model directory's {@code tokenizer.json} run by the reference Rust tokenizers library (DJL's binding),
 * special tokens added by its post-processor ([CLS] … [SEP] for BERT, &lt;s&gt; … &lt;/s&gt; for RoBERTa), truncated
 * to {@code maxLength} tokens including them, no padding (batches pad: {@link EncoderBatch}).
 */
public final class EncoderTokenizer implements AutoCloseable {
    /** One text's input_ids and token_type_ids. */
    public record Encoded(int[] inputIds, int[] tokenTypeIds) {
        public Encoded {
            if (inputIds.length != tokenTypeIds.length) throw new IllegalArgumentException("ids and type ids differ in length");
        }
    }

    private final HuggingFaceTokenizer tokenizer;

    private EncoderTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Loads {@code dir/tokenizer.json} (beside the file, when {@code dir} is a model file), truncating to {@code maxLength} tokens. */
    public static EncoderTokenizer load(Path dir, int maxLength) {
        Path file = (Files.isRegularFile(dir) ? dir.toAbsolutePath().getParent() : dir).resolve("tokenizer.json");
        InputFile.requireRegular(file, "a Hugging Face tokenizer.json");
        if (maxLength < 2) throw new Lora4jException("the maximum length must be at least 2 tokens, got " + maxLength);
        try {
            return new EncoderTokenizer(HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(true)
                    .optTruncation(true)
                    .optMaxLength(maxLength)
                    .optPadding(false)
                    .build());
        } catch (IOException | RuntimeException e) {
            throw new Lora4jException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    public Encoded encode(String text) {
        Encoding e = tokenizer.encode(text);
        return new Encoded(ints(e.getIds()), ints(e.getTypeIds()));
    }

    private static int[] ints(long[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(values[i]);
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
