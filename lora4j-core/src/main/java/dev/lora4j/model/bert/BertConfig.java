package dev.lora4j.model.bert;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.HfConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * BERT and RoBERTa hyper-parameters with the field meanings and defaults of HF BertConfig / RobertaConfig
 * (configuration_bert.py, configuration_roberta.py). {@code labels} is the config's id2label (or LABEL_i for a
 * bare num_labels), null when the config names no labels; {@code classifierDropout} null means "use
 * hidden_dropout_prob", as HF's classification heads do.
 */
public record BertConfig(String modelType, int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, Activation hiddenAct, int maxPositionEmbeddings, int typeVocabSize,
                         float layerNormEps, int padTokenId, float hiddenDropoutProb, float attentionProbsDropoutProb,
                         Float classifierDropout, float initializerRange, LabelMap labels) {

    /** hidden_act: "gelu" is the exact (erf) GELU; "gelu_new" / "gelu_pytorch_tanh" the tanh approximation. */
    public enum Activation { GELU, GELU_TANH }

    public BertConfig {
        if (!modelType.equals("bert") && !modelType.equals("roberta")) {
            throw new IllegalArgumentException("model_type must be bert or roberta, got " + modelType);
        }
        if (vocabSize <= 0 || hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0 || intermediateSize <= 0
                || maxPositionEmbeddings <= 0 || typeVocabSize <= 0) {
            throw new IllegalArgumentException("BERT sizes must be positive");
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (padTokenId < 0 || padTokenId >= vocabSize) throw new IllegalArgumentException("pad_token_id " + padTokenId + " is outside the vocabulary");
        if (!(layerNormEps > 0) || Float.isInfinite(layerNormEps)) throw new IllegalArgumentException("layer_norm_eps " + layerNormEps + " is not a positive finite float32");
        for (Float p : new Float[] {hiddenDropoutProb, attentionProbsDropoutProb, classifierDropout}) {
            if (p != null && !(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout probability " + p + " is outside [0, 1)");
        }
        if (!(initializerRange >= 0) || Float.isInfinite(initializerRange)) {
            throw new IllegalArgumentException("initializer_range " + initializerRange + " is not a finite number ≥ 0");
        }
    }

    public boolean isRoberta() {
        return modelType.equals("roberta");
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Longest input in tokens: RoBERTa's positions start at pad_token_id + 1, so it loses pad_token_id + 1 of them. */
    public int maxSequenceLength() {
        return isRoberta() ? maxPositionEmbeddings - padTokenId - 1 : maxPositionEmbeddings;
    }

    /** The dropout before the classifier: classifier_dropout, or hidden_dropout_prob when that is null. */
    public float classifierDropoutOrHidden() {
        return classifierDropout != null ? classifierDropout : hiddenDropoutProb;
    }

    public BertConfig withLabels(LabelMap labels) {
        return new BertConfig(modelType, vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct,
                maxPositionEmbeddings, typeVocabSize, layerNormEps, padTokenId, hiddenDropoutProb, attentionProbsDropoutProb,
                classifierDropout, initializerRange, labels);
    }

    /**
     * A Hugging Face {@code config.json} for these values (keys sorted) that {@link #from} reads back to an equal record:
     * the architecture is the sequence classifier when labels are named, else the bare encoder.
     */
    public String toConfigJson() {
        Map<String, Object> json = new TreeMap<>();
        String arch = isRoberta() ? "Roberta" : "Bert";
        json.put("architectures", List.of(arch + (labels != null ? "ForSequenceClassification" : "Model")));
        json.put("model_type", modelType);
        json.put("vocab_size", vocabSize);
        json.put("hidden_size", hiddenSize);
        json.put("num_hidden_layers", numHiddenLayers);
        json.put("num_attention_heads", numAttentionHeads);
        json.put("intermediate_size", intermediateSize);
        json.put("hidden_act", hiddenAct == Activation.GELU ? "gelu" : "gelu_new");
        json.put("max_position_embeddings", maxPositionEmbeddings);
        json.put("type_vocab_size", typeVocabSize);
        json.put("layer_norm_eps", layerNormEps);
        json.put("pad_token_id", padTokenId);
        json.put("hidden_dropout_prob", hiddenDropoutProb);
        json.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
        if (classifierDropout != null) json.put("classifier_dropout", classifierDropout);
        json.put("initializer_range", initializerRange);
        json.put("position_embedding_type", "absolute");
        if (labels != null) {
            Map<String, Object> id2label = new LinkedHashMap<>();
            for (int i = 0; i < labels.size(); i++) id2label.put(Integer.toString(i), labels.name(i));
            json.put("id2label", id2label);
            json.put("label2id", labels.label2id());
            json.put("problem_type", LabelMap.PROBLEM_TYPE);
        }
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a map of numbers and strings", e);
        }
    }

    /** HF's hidden_act name as an {@link Activation}; {@code source} names the file or graph in the error. */
    public static Activation activation(String hiddenAct, String source) {
        return switch (hiddenAct) {
            case "gelu" -> Activation.GELU;
            case "gelu_new", "gelu_pytorch_tanh" -> Activation.GELU_TANH;
            default -> throw new Lora4jException(source + ": hidden_act '" + hiddenAct + "' is not supported (expected gelu or gelu_new)");
        };
    }

    /** num_labels without id2label: a positive number of classes, at most {@link LabelMap#MAX_LABELS}. */
    private static int numLabels(HfConfig c) {
        int n = c.positiveInt("num_labels");
        if (n > LabelMap.MAX_LABELS) {
            throw new Lora4jException(c.source() + ": field 'num_labels' is " + n + ", expected at most " + LabelMap.MAX_LABELS + " classes");
        }
        return n;
    }

    /** Maps a config.json (model_type bert or roberta) to the record; names the file and field on any problem. */
    public static BertConfig from(HfConfig c) {
        String type = c.modelType();
        Activation activation = activation(c.stringOr("hidden_act", "gelu"), c.source());
        String positions = c.stringOr("position_embedding_type", "absolute");
        if (!positions.equals("absolute")) {
            throw new Lora4jException(c.source() + ": position_embedding_type '" + positions + "' is not supported (only absolute)");
        }
        if (c.boolOr("is_decoder", false) || c.boolOr("add_cross_attention", false)) {
            throw new Lora4jException(c.source() + ": is_decoder / add_cross_attention are not supported (lora4j runs BERT as an encoder)");
        }
        String problem = c.stringOr("problem_type", LabelMap.PROBLEM_TYPE);
        if (!problem.equals(LabelMap.PROBLEM_TYPE)) {
            throw new Lora4jException(c.source() + ": problem_type '" + problem + "' is not supported (only " + LabelMap.PROBLEM_TYPE + ")");
        }
        int hidden = c.positiveInt("hidden_size"), heads = c.positiveInt("num_attention_heads");
        if (hidden % heads != 0) {
            throw new Lora4jException(c.source() + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        }
        LabelMap labels = c.has("id2label") ? LabelMap.fromId2Label(c.raw().get("id2label"), c.source())
                : c.has("num_labels") ? LabelMap.defaults(numLabels(c)) : null;
        int pad = c.intOr("pad_token_id", type.equals("roberta") ? 1 : 0);
        try {
            return new BertConfig(type, c.positiveInt("vocab_size"), hidden, c.positiveInt("num_hidden_layers"), heads,
                    c.positiveInt("intermediate_size"), activation, c.positiveInt("max_position_embeddings"),
                    c.positiveIntOr("type_vocab_size", 2), (float) c.positiveDoubleOr("layer_norm_eps", 1e-12), pad,
                    (float) c.probabilityOr("hidden_dropout_prob", 0.1), (float) c.probabilityOr("attention_probs_dropout_prob", 0.1),
                    c.has("classifier_dropout") ? (float) c.probabilityOr("classifier_dropout", 0) : null,
                    (float) c.nonNegativeDoubleOr("initializer_range", 0.02), labels);
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(c.source() + ": " + e.getMessage(), e);
        }
    }
}
