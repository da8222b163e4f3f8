package dev.lora4j.train;

import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.eval.ClassificationMetrics;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.EncoderBatch;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Sequence classification (HF *ForSequenceClassification with problem_type single_label_classification):
 * micro-batches of encoded texts right-padded with attention masks, mean cross-entropy of the logits against the
 * class ids; held-out loss, accuracy and macro-F1.
 */
public final class SequenceClassificationTask implements TrainingTask {
    /** An encoded text and its class id. */
    public record Example(EncoderTokenizer.Encoded text, int label) {}

    /** Mean loss over the examples and the confusion-matrix metrics of the arg-max predictions. */
    public record Evaluation(double loss, ClassificationMetrics metrics, int[] predicted) {}

    private final BertForSequenceClassification model;
    private final List<Example> train;
    private final List<Example> eval;
    private final int evalBatch;

    public SequenceClassificationTask(BertForSequenceClassification model, List<Example> train, List<Example> eval, int evalBatch) {
        this.model = model;
        this.train = train;
        this.eval = eval;
        this.evalBatch = evalBatch;
    }

    /** Tokenizes labelled texts; each label becomes its id under {@code labels} (an unknown label is an error naming its line). */
    public static List<Example> examples(LabelledTexts data, LabelMap labels, EncoderTokenizer tokenizer) {
        int[] ids = data.labelIds(labels);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) out.add(new Example(tokenizer.encode(data.examples().get(i).text()), ids[i]));
        return out;
    }

    /**
     * PEFT's LoRA config for SEQ_CLS on this family: default targets (query, value), r 8, alpha 8, and modules_to_save
     * as PeftModelForSequenceClassification saves it ([..., "classifier", "score"]); a newly initialised pooler is
     * saved too ("pooler" first), since nobody could reproduce its random values from the base model.
     */
    public static LoraConfig loraConfig(String modelType, List<String> newlyInitialised) {
        List<String> save = new ArrayList<>();
        if (newlyInitialised.stream().anyMatch(n -> n.contains("pooler."))) save.add("pooler");
        save.addAll(LoraInjector.SEQ_CLS_HEADS);
        return LoraConfig.peftDefaults().withTaskType("SEQ_CLS").withDefaultTargets(modelType).withModulesToSave(save);
    }

    @Override
    public Module module() {
        return model;
    }

    @Override
    public int size() {
        return train.size();
    }

    @Override
    public int length(int i) {
        return train.get(i).text().inputIds().length;
    }

    @Override
    public Loss loss(Tape tape, List<Integer> examples) {
        List<Example> batch = examples.stream().map(train::get).toList();
        Tensor logits = model.forward(tape, batch(model, batch));                                 // (B, num_labels)
        return new Loss(CrossEntropy.apply(tape, logits, batch.stream().mapToInt(Example::label).toArray()), batch.size());
    }

    @Override
    public Map<String, Double> evaluate() {
        Map<String, Double> m = new LinkedHashMap<>();
        if (eval.isEmpty()) return m;
        Evaluation e = evaluate(model, eval, evalBatch, n -> {});
        m.put("eval_loss", e.loss());
        m.put("eval_accuracy", e.metrics().accuracy());
        m.put("eval_macro_f1", e.metrics().macroF1());
        m.put("eval_examples", (double) eval.size());
        return m;
    }

    /** Evaluates without gradients in batches of {@code batchSize}; {@code progress} gets the examples done per batch. */
    public static Evaluation evaluate(BertForSequenceClassification model, List<Example> examples, int batchSize, IntConsumer progress) {
        model.train(false);
        int L = model.labels().size();
        int[] actual = new int[examples.size()], predicted = new int[examples.size()];
        double total = 0;
        try (Workspace ws = Workspace.open()) {                              // each batch's activations die with it
            for (int s = 0; s < examples.size(); s += batchSize) {
                ws.reset();
                List<Example> batch = new ArrayList<>(examples.subList(s, Math.min(examples.size(), s + batchSize)));
                int n = batch.size();
                // a short last batch is filled up with copies of its last text (ignored): every batch then has the
                // same shape and reuses the same arrays, instead of allocating its own at each evaluation
                while (examples.size() > batchSize && batch.size() < batchSize) batch.add(batch.get(n - 1));
                int[] labels = new int[batch.size()];
                for (int b = 0; b < labels.length; b++) labels[b] = b < n ? batch.get(b).label() : CrossEntropy.IGNORE_INDEX;
                Tape tape = Tape.noGrad();
                Tensor logits = model.forward(tape, batch(model, batch));
                total += (double) CrossEntropy.apply(tape, logits, labels).data()[0] * n;
                for (int b = 0; b < n; b++) {
                    int best = 0;
                    for (int j = 1; j < L; j++) if (logits.data()[b * L + j] > logits.data()[b * L + best]) best = j;
                    actual[s + b] = labels[b];
                    predicted[s + b] = best;
                }
                progress.accept(n);
            }
        }
        return new Evaluation(total / examples.size(), ClassificationMetrics.of(actual, predicted, L), predicted);
    }

    private static EncoderBatch batch(BertForSequenceClassification model, List<Example> examples) {
        return EncoderBatch.of(examples.stream().map(Example::text).toList(), model.config().padTokenId());
    }
}
