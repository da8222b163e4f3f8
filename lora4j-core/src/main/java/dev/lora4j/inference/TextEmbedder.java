package dev.lora4j.inference;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.bert.BertModel;
import dev.lora4j.model.bert.EncoderBatch;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.model.bert.SentenceEmbeddings;
import java.nio.file.Path;
import java.util.List;

/**
 * A BERT-family encoder ready to embed texts as sentence-transformers does (mean of the token vectors over the
 * attention mask): a base (Hugging Face directory or ONNX export such as all-MiniLM-L6-v2's), optionally with an
 * adapter applied unmerged (a SEQ_CLS adapter's encoder part too). It holds the tokenizer's native memory, so close it.
 *
 * <pre>{@code
 * try (TextEmbedder minilm = TextEmbedder.load(Path.of("all-minilm-l6-v2.onnx"))) {
 *     float[] v = minilm.embed("hello world");                      // 384 values
 * }
 * }</pre>
 */
public final class TextEmbedder implements AutoCloseable {
    private final BertModel encoder;
    private final EncoderTokenizer tokenizer;

    private TextEmbedder(BertModel encoder, EncoderTokenizer tokenizer) {
        this.encoder = encoder;
        this.tokenizer = tokenizer;
    }

    /** The base encoder of {@code model}. */
    public static TextEmbedder load(Path model) {
        return load(model, null, 0);
    }

    /** The encoder of {@code model} with {@code adapter} (null for none), texts cut to min(512, the model's maximum). */
    public static TextEmbedder load(Path model, Path adapter) {
        return load(model, adapter, 0);
    }

    /** As {@link #load(Path, Path)}, texts cut to {@code maxLength} tokens (0: min(512, the model's maximum)). */
    public static TextEmbedder load(Path model, Path adapter, int maxLength) {
        BertModel encoder;
        if (TextClassifier.isSequenceClassificationAdapter(adapter)) {
            encoder = TextClassifier.classifier(model, adapter).encoder();
        } else {
            encoder = ModelLoader.loadEncoder(model);
            if (adapter != null) AdapterIO.load(adapter, encoder);
        }
        int max = encoder.config().maxSequenceLength(), T = maxLength > 0 ? maxLength : Math.min(512, max);
        if (T < 2 || T > max) throw new Lora4jException("the maximum length " + T + " is outside [2, " + max + "] (the model's maximum)");
        return new TextEmbedder(encoder, EncoderTokenizer.load(model, T));
    }

    /** The embedding of one text ({@link #dimensions()} values). */
    public float[] embed(String text) {
        return embed(List.of(text))[0];
    }

    /** The embeddings of several texts, computed as one padded batch: one row per text. */
    public float[][] embed(List<String> texts) {
        float[][] vectors = SentenceEmbeddings.meanPooled(encoder, EncoderBatch.of(texts.stream().map(tokenizer::encode).toList(),
                encoder.config().padTokenId()));
        for (int i = 0; i < vectors.length; i++) {
            if (FiniteCheck.firstNonFinite(vectors[i], 0, vectors[i].length) >= 0) {
                throw new Lora4jException("the embedding of text " + (i + 1) + " is not finite: the model (with its adapter, if any)"
                        + " computes non-finite values, e.g. from weights that overflow float32");
            }
        }
        return vectors;
    }

    /** The length of each embedding (the encoder's hidden size). */
    public int dimensions() {
        return encoder.config().hiddenSize();
    }

    /** The encoder (for lower-level use). */
    public BertModel encoder() {
        return encoder;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
