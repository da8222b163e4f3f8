package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.inference.TextClassifier;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j classify}: the label and class probabilities of each text under a classifier (base + SEQ_CLS adapter). */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Classify texts with a BERT-family sequence classifier: a task checkpoint, or a base model with the",
                "SEQ_CLS adapter `train --task seq-cls` wrote (its label_map.json names the labels). Prints the most",
                "likely label and every label's probability (softmax of the logits), one text per line."})
final class ClassifyCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory (bert or roberta).")
    Path modelDir;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A SEQ_CLS PEFT adapter (with label_map.json), applied unmerged.")
    Path adapter;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "A text to classify (repeat for several).")
    List<String> texts;

    @Option(names = "--max-length", paramLabel = "N", description = "Truncate each text to N tokens, special tokens included (default: the model's maximum).")
    Integer maxLength;

    @Option(names = "--json", description = "Print one JSON object per text: {\"text\", \"label\", \"probabilities\": {label: p}}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<TextClassifier.Prediction> predictions;
        try (TextClassifier classifier = TextClassifier.load(modelDir, adapter, maxLength == null ? 0 : maxLength)) {
            predictions = classifier.classify(texts);
        } catch (Lora4jException e) {
            throw Classifiers.withFlags(e, "--max-length");
        }
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        for (int i = 0; i < texts.size(); i++) {
            TextClassifier.Prediction p = predictions.get(i);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("text", texts.get(i));
                o.put("label", p.label());
                o.put("probabilities", p.probabilities());
                out.println(mapper.writeValueAsString(o));
            } else {
                StringBuilder sb = new StringBuilder(String.format("%s %.4f  (", p.label(), p.score()));
                boolean first = true;
                for (Map.Entry<String, Float> e : p.probabilities().entrySet()) {
                    sb.append(first ? "" : ", ").append(String.format("%s %.4f", e.getKey(), e.getValue()));
                    first = false;
                }
                out.println(sb.append(")  ").append(texts.get(i)));
            }
        }
        return 0;
    }
}
