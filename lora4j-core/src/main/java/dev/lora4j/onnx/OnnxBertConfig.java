// The BERT hyper-parameters recovered from an ONNX export, with the meanings of Hugging Face's
// BertConfig / RobertaConfig fields. Dropout rates are not in an inference
// graph and are left out; model.bert.BertOnnx completes them with HF's defaults.
package dev.lora4j.onnx;

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
}
