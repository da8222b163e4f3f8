// The BERT hyper-parameters recovered from an ONNX export, with the meanings (and, in JSON, the
// names) of Hugging Face's BertConfig / RobertaConfig fields. Dropout rates are not in an inference
// graph and are left out, so a config factory applies its defaults.
package dev.lora4j.onnx;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** {@code modelType} is "bert" or "roberta"; {@code hiddenAct} an HF name ("gelu" is exact, erf-based). */
public record OnnxBertConfig(String modelType, int vocabSize, int hiddenSize, int numHiddenLayers,
                             int numAttentionHeads, int intermediateSize, String hiddenAct,
                             int maxPositionEmbeddings, int typeVocabSize, double layerNormEps, int padTokenId) {
    public OnnxBertConfig {
        if (vocabSize <= 0 || hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0
                || intermediateSize <= 0 || maxPositionEmbeddings <= 0 || typeVocabSize <= 0) {
            throw new IllegalArgumentException("BERT sizes must be positive");
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden size " + hiddenSize + " is not divisible by " + numAttentionHeads + " heads");
        }
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** A Hugging Face {@code config.json} for these values (keys sorted), e.g. for {@code HfConfig.parse}. */
    public String toConfigJson() {
        Map<String, Object> json = new TreeMap<>();
        json.put("architectures", List.of(modelType.equals("roberta") ? "RobertaModel" : "BertModel"));
        json.put("model_type", modelType);
        json.put("vocab_size", vocabSize);
        json.put("hidden_size", hiddenSize);
        json.put("num_hidden_layers", numHiddenLayers);
        json.put("num_attention_heads", numAttentionHeads);
        json.put("intermediate_size", intermediateSize);
        json.put("hidden_act", hiddenAct);
        json.put("max_position_embeddings", maxPositionEmbeddings);
        json.put("type_vocab_size", typeVocabSize);
        json.put("layer_norm_eps", layerNormEps);
        json.put("pad_token_id", padTokenId);
        json.put("position_embedding_type", "absolute");
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a map of numbers and strings", e);
        }
    }
}
