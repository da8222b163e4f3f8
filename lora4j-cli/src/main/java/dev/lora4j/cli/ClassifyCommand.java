package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.EncoderBatch;
import dev.lora4j.model.bert.EncoderTokenizer;
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
        BertForSequenceClassification model = Classifiers.load(modelDir, adapter);
        int T = maxLength != null ? maxLength : model.config().maxSequenceLength();
        if (T < 2 || T > model.config().maxSequenceLength()) {
            throw new Lora4jException("--max-length " + T + " is outside [2, " + model.config().maxSequenceLength() + "] (the model's maximum)");
        }
        float[][] probs;
        try (EncoderTokenizer tok = EncoderTokenizer.load(modelDir, T)) {
            probs = model.probabilities(EncoderBatch.of(texts.stream().map(tok::encode).toList(), model.config().padTokenId()));
        }
        for (int i = 0; i < texts.size(); i++) {
            if (FiniteCheck.firstNonFinite(probs[i], 0, probs[i].length) >= 0) {
                throw new Lora4jException("the class probabilities of text " + (i + 1) + " are not finite: the model (with its adapter,"
                        + " if any) computes non-finite values, e.g. from weights that overflow float32");
            }
        }
        LabelMap labels = model.labels();
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        for (int i = 0; i < texts.size(); i++) {
            int best = 0;
            for (int j = 1; j < probs[i].length; j++) if (probs[i][j] > probs[i][best]) best = j;
            if (json) {
                Map<String, Object> p = new LinkedHashMap<>();
                for (int j = 0; j < probs[i].length; j++) p.put(labels.name(j), probs[i][j]);
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("text", texts.get(i));
                o.put("label", labels.name(best));
                o.put("probabilities", p);
                out.println(mapper.writeValueAsString(o));
            } else {
                StringBuilder sb = new StringBuilder(String.format("%s %.4f  (", labels.name(best), probs[i][best]));
                for (int j = 0; j < probs[i].length; j++) sb.append(j == 0 ? "" : ", ").append(String.format("%s %.4f", labels.name(j), probs[i][j]));
                out.println(sb.append(")  ").append(texts.get(i)));
            }
        }
        return 0;
    }
}
