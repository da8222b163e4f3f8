package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.inference.TextClassifier;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.TaskType;
import dev.lora4j.model.bert.BertForSequenceClassification;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What the sequence-classification commands share: which task a command runs, and core's classifier loading
 * ({@link TextClassifier}) with the flags the user typed named in its errors.
 */
final class Classifiers {
    private Classifiers() {}

    /**
     * The task: {@code --task} (causal-lm or seq-cls) when given, else SEQ_CLS for a SEQ_CLS adapter, else the base's
     * default (its family's: sequence classification for an encoder).
     */
    static TaskType task(String option, Path modelDir, Path adapter) {
        if (option != null) {
            return switch (option.toLowerCase(Locale.ROOT)) {
                case "causal-lm" -> TaskType.CAUSAL_LM;
                case "seq-cls" -> TaskType.SEQ_CLS;
                default -> throw new Lora4jException("--task '" + option + "' is not causal-lm or seq-cls");
            };
        }
        if (adapter != null && java.nio.file.Files.isRegularFile(adapter.resolve(dev.lora4j.lora.AdapterIO.CONFIG_FILE)) && isSeqClsAdapter(adapter)) {
            return TaskType.SEQ_CLS;
        }
        return ModelLoader.defaultTask(modelDir);
    }

    /** A SEQ_CLS adapter's directory holds label_map.json; other adapters (FEATURE_EXTRACTION) do not change labels. */
    static boolean isSeqClsAdapter(Path adapter) {
        return TextClassifier.isSequenceClassificationAdapter(adapter);
    }

    /** The classifier of {@code modelDir} with {@code adapter} applied (see {@link TextClassifier#classifier}). */
    static BertForSequenceClassification load(Path modelDir, Path adapter) {
        try {
            return TextClassifier.classifier(modelDir, adapter);
        } catch (Lora4jException e) {
            throw withFlags(e, "--max-length");
        }
    }

    /** Core's message with the flags the user typed: "give the --adapter", and {@code lengthFlag} for the maximum length. */
    static Lora4jException withFlags(Lora4jException e, String lengthFlag) {
        String m = e.getMessage().replace("give the adapter", "give the --adapter").replace("the maximum length", lengthFlag);
        return m.equals(e.getMessage()) ? e : new Lora4jException(m, e);
    }
}
