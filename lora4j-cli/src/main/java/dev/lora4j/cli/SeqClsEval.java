package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.eval.ClassificationMetrics;
import dev.lora4j.inference.TextClassifier;
import dev.lora4j.train.SequenceClassificationTask;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;

/**
 * {@code lora4j eval --task seq-cls}: a classifier (base + SEQ_CLS adapter) over labelled texts: loss, accuracy,
 * macro-F1 (scikit-learn's definitions), per-label precision / recall / F1 and the confusion matrix with label names.
 */
final class SeqClsEval {
    private SeqClsEval() {}

    static int run(EvalCommand c) throws Exception {
        LabelMap labels;
        SequenceClassificationTask.Evaluation e;
        try (TextClassifier classifier = TextClassifier.load(c.modelDir, c.adapter, c.seqLen == null ? 0 : c.seqLen);
             ProgressBar bar = Progress.bar("eval", LabelledTexts.read(c.data).size(), " texts")) {
            labels = classifier.labels();
            e = classifier.evaluate(c.data, c.batchSize, bar::stepBy);
        } catch (Lora4jException ex) {
            throw Classifiers.withFlags(ex, "--seq-len");
        }
        ClassificationMetrics m = e.metrics();
        PrintWriter out = c.spec.commandLine().getOut();
        if (c.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("loss", e.loss());
            o.put("accuracy", m.accuracy());
            o.put("macro_f1", m.macroF1());
            o.put("examples", m.total());
            o.put("labels", labels.id2label());
            o.put("confusion_matrix", m.confusion());
            Map<String, Object> perLabel = new LinkedHashMap<>();
            for (int i = 0; i < labels.size(); i++) {
                perLabel.put(labels.name(i), Map.of("precision", m.precision(i), "recall", m.recall(i), "f1", m.f1(i), "support", m.support(i)));
            }
            o.put("per_label", perLabel);
            out.println(new ObjectMapper().writeValueAsString(o));
            return 0;
        }
        out.printf("accuracy %.4f  macro-F1 %.4f  loss %.4f  examples %,d%n", m.accuracy(), m.macroF1(), e.loss(), m.total());
        int width = Math.max(9, labels.id2label().stream().mapToInt(String::length).max().orElse(0));
        out.printf("%-" + width + "s  %9s  %9s  %9s  %9s%n", "label", "precision", "recall", "f1", "support");
        for (int i = 0; i < labels.size(); i++) {
            out.printf("%-" + width + "s  %9.4f  %9.4f  %9.4f  %9d%n", labels.name(i), m.precision(i), m.recall(i), m.f1(i), m.support(i));
        }
        out.println("confusion matrix (rows: actual, columns: predicted)");
        StringBuilder head = new StringBuilder(String.format("%-" + width + "s", ""));
        for (String n : labels.id2label()) head.append(String.format("  %" + width + "s", n));
        out.println(head);
        for (int i = 0; i < labels.size(); i++) {
            StringBuilder row = new StringBuilder(String.format("%-" + width + "s", labels.name(i)));
            for (long v : m.confusion()[i]) row.append(String.format("  %" + width + "d", v));
            out.println(row);
        }
        return 0;
    }
}
