package dev.lora4j.inference;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.TaskType;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.EncoderBatch;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.train.SequenceClassificationTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * A BERT-family sequence classifier ready to label texts: a base (Hugging Face directory or ONNX export) with a
 * SEQ_CLS adapter applied unmerged (its label_map.json names the classes), or a fine-tuned classifier directory on
 * its own. It holds the tokenizer's native memory, so close it.
 *
 * <pre>{@code
 * try (TextClassifier spam = TextClassifier.load(base, adapter)) {
 *     TextClassifier.Prediction p = spam.classify("WIN a FREE cruise, reply now");   // p.label() = "spam"
 * }
 * }</pre>
 */
public final class TextClassifier implements AutoCloseable {
    /** The most probable label, its probability, and every label's probability (in label-id order). */
    public record Prediction(String label, float score, Map<String, Float> probabilities) {}

    private final BertForSequenceClassification model;
    private final EncoderTokenizer tokenizer;

    private TextClassifier(BertForSequenceClassification model, EncoderTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** A fine-tuned classifier directory (its config.json names the labels and its checkpoint holds the head). */
    public static TextClassifier load(Path model) {
        return load(model, null, 0);
    }

    /** A base with a SEQ_CLS adapter (null for none), texts cut to the model's maximum length. */
    public static TextClassifier load(Path model, Path adapter) {
        return load(model, adapter, 0);
    }

    /** As {@link #load(Path, Path)}, texts cut to {@code maxLength} tokens (0: the model's maximum). */
    public static TextClassifier load(Path model, Path adapter, int maxLength) {
        BertForSequenceClassification classifier = classifier(model, adapter);
        int max = classifier.config().maxSequenceLength(), T = maxLength > 0 ? maxLength : max;
        if (T < 2 || T > max) throw new Lora4jException("the maximum length " + T + " is outside [2, " + max + "] (the model's maximum)");
        return new TextClassifier(classifier, EncoderTokenizer.load(model, T));
    }

    /** Whether {@code adapter} is a SEQ_CLS adapter (its directory then holds label_map.json). */
    public static boolean isSequenceClassificationAdapter(Path adapter) {
        return adapter != null && TaskType.SEQ_CLS.peftName().equals(LoraConfig.read(adapter.resolve(AdapterIO.CONFIG_FILE)).taskType());
    }

    /**
     * The classifier of {@code model} with {@code adapter} applied (unmerged), in evaluation mode, with the labels of the
     * adapter's label_map.json or, without one, of the model's config.json. Every head parameter the base lacks must come
     * from the adapter (its modules_to_save); otherwise the classifier would be random, and that is refused.
     */
    public static BertForSequenceClassification classifier(Path model, Path adapter) {
        LabelMap labels = null;
        if (adapter != null && Files.isRegularFile(adapter.resolve(LabelMap.FILE))) labels = LabelMap.read(adapter.resolve(LabelMap.FILE));
        if (labels == null && ModelLoader.encoderConfig(model).labels() == null) {
            throw new Lora4jException(model + ": has no classification head (its config names no labels)"
                    + (adapter == null ? "; give the adapter trained for it" : " and " + adapter + " has no " + LabelMap.FILE));
        }
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(model, labels, 0);
        BertForSequenceClassification m = loaded.model();
        if (adapter != null) AdapterIO.load(adapter, m);
        List<String> random = loaded.newlyInitialised().stream().filter(n -> !m.namedParameters().get(n).requiresGrad()).toList();
        if (!random.isEmpty()) {
            throw new Lora4jException(model + ": has no classification head (" + String.join(", ", random) + ")"
                    + (adapter == null ? "; give the adapter trained for it" : " and " + adapter + " does not hold it (modules_to_save)"));
        }
        m.train(false);
        return m;
    }

    /** The label of one text. */
    public Prediction classify(String text) {
        return classify(List.of(text)).getFirst();
    }

    /** The labels of several texts, computed as one padded batch. */
    public List<Prediction> classify(List<String> texts) {
        float[][] probs = model.probabilities(EncoderBatch.of(texts.stream().map(tokenizer::encode).toList(), model.config().padTokenId()));
        LabelMap labels = model.labels();
        List<Prediction> out = new ArrayList<>();
        for (int i = 0; i < probs.length; i++) {
            if (FiniteCheck.firstNonFinite(probs[i], 0, probs[i].length) >= 0) {
                throw new Lora4jException("the class probabilities of text " + (i + 1) + " are not finite: the model (with its adapter, if any)"
                        + " computes non-finite values, e.g. from weights that overflow float32");
            }
            int best = 0;
            for (int j = 1; j < probs[i].length; j++) if (probs[i][j] > probs[i][best]) best = j;
            Map<String, Float> p = new LinkedHashMap<>();
            for (int j = 0; j < probs[i].length; j++) p.put(labels.name(j), probs[i][j]);
            out.add(new Prediction(labels.name(best), probs[i][best], p));
        }
        return out;
    }

    /**
     * Loss, accuracy, macro-F1 and the confusion matrix over a labelled file (.jsonl, .csv, .tsv), in batches of
     * {@code batchSize}; {@code progress} gets the number of texts done after each batch.
     */
    public SequenceClassificationTask.Evaluation evaluate(Path data, int batchSize, IntConsumer progress) {
        List<SequenceClassificationTask.Example> examples = SequenceClassificationTask.examples(LabelledTexts.read(data), model.labels(), tokenizer);
        SequenceClassificationTask.Evaluation e = SequenceClassificationTask.evaluate(model, examples, batchSize, progress);
        if (!Double.isFinite(e.loss())) {
            throw new Lora4jException("the loss over " + data + " is " + e.loss() + ": the model (with its adapter, if any) computes"
                    + " non-finite values, e.g. from weights that overflow float32");
        }
        return e;
    }

    /** The classes, by id. */
    public LabelMap labels() {
        return model.labels();
    }

    /** The classifier (for lower-level use). */
    public BertForSequenceClassification model() {
        return model;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
