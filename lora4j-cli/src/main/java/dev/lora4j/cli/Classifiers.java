package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.TaskType;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What the sequence-classification commands share: which task a command runs, and a classifier loaded from a
 * base model and (optionally) a SEQ_CLS adapter, with the labels of the adapter's label_map.json or, without one,
 * of the model's config.json.
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
        if (adapter != null && Files.isRegularFile(adapter.resolve(AdapterIO.CONFIG_FILE)) && isSeqClsAdapter(adapter)) return TaskType.SEQ_CLS;
        return ModelLoader.defaultTask(modelDir);
    }

    /** A SEQ_CLS adapter's directory holds label_map.json; other adapters (FEATURE_EXTRACTION) do not change labels. */
    static boolean isSeqClsAdapter(Path adapter) {
        return adapter != null && TaskType.SEQ_CLS.peftName().equals(LoraConfig.read(adapter.resolve(AdapterIO.CONFIG_FILE)).taskType());
    }

    /**
     * The classifier of {@code modelDir} with {@code adapter} applied (unmerged). Every head parameter the base lacks
     * must come from the adapter (its modules_to_save); otherwise the classifier would be random.
     */
    static BertForSequenceClassification load(Path modelDir, Path adapter) {
        LabelMap labels = null;
        if (adapter != null && Files.isRegularFile(adapter.resolve(LabelMap.FILE))) labels = LabelMap.read(adapter.resolve(LabelMap.FILE));
        if (labels == null && ModelLoader.encoderConfig(modelDir).labels() == null) {
            throw new Lora4jException(modelDir + ": has no classification head (its config names no labels)"
                    + (adapter == null ? "; give the --adapter trained for it" : " and " + adapter + " has no " + LabelMap.FILE));
        }
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(modelDir, labels, 0);
        BertForSequenceClassification model = loaded.model();
        if (adapter != null) AdapterIO.load(adapter, model);
        List<String> random = loaded.newlyInitialised().stream().filter(n -> !model.namedParameters().get(n).requiresGrad()).toList();
        if (!random.isEmpty()) {
            throw new Lora4jException(modelDir + ": has no classification head (" + String.join(", ", random) + ")"
                    + (adapter == null ? "; give the --adapter trained for it" : " and " + adapter + " does not hold it (modules_to_save)"));
        }
        model.train(false);
        return model;
    }
}
