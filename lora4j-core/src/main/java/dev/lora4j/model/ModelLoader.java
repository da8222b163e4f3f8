package dev.lora4j.model;

import dev.lora4j.nn.CausalLm;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.WeightStore;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.BertModel;
import dev.lora4j.model.bert.BertOnnx;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Loader;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.model.llama.LlamaLoader;
import dev.lora4j.nn.StateDict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;

/** Opens a Hugging Face model directory: reads config.json, picks the family by {@code model_type}, loads the weights. */
public final class ModelLoader {
    private ModelLoader() {}

    public static CausalLm load(Path dir) {
        InputFile.requireDirectory(dir, "a model directory with config.json");
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        String type = config.modelType();
        return switch (type) {
            case "gpt2" -> {
                Gpt2Config gpt2 = Gpt2Config.from(config);
                try (WeightStore weights = WeightStore.open(dir)) {
                    Gpt2Model m = Gpt2Loader.load(gpt2, weights);
                    m.setEosTokenId(config.has("eos_token_id") ? OptionalInt.of(config.requireInt("eos_token_id")) : OptionalInt.empty());
                    yield m;
                }
            }
            case "llama", "mistral", "qwen2" -> {
                LlamaConfig llama = LlamaConfig.from(config);
                try (WeightStore weights = WeightStore.open(dir)) {
                    yield LlamaLoader.load(llama, weights);
                }
            }
            case "bert", "roberta" -> throw new Lora4jException(config.source() + ": model_type '" + type
                    + "' is an encoder, not a causal LM (for it: train --task seq-cls, eval --task seq-cls, classify, embed)");
            default -> throw new Lora4jException(config.source() + ": unknown model_type '" + type
                    + "' (supported: gpt2, llama, mistral, qwen2)");
        };
    }

    /**
     * A BERT-family encoder (model_type bert or roberta; HF BertModel), with a pooler when the checkpoint has one,
     * from a model directory or an ONNX export (an .onnx file, or a directory holding one and no config.json).
     */
    public static BertModel loadEncoder(Path dir) {
        Path onnx = BertOnnx.onnxFile(dir);
        if (onnx != null) return BertOnnx.encoder(onnx);
        BertConfig config = bertConfig(dir);
        try (WeightStore weights = WeightStore.open(dir)) {
            return BertLoader.encoder(config, StateDict.Source.of(weights));
        }
    }

    /**
     * A BERT-family sequence classifier (HF *ForSequenceClassification) over {@code labels}, or over config.json's
     * id2label when null. A task checkpoint's classifier is loaded; a bare encoder's is initialised from {@code seed}.
     */
    public static BertLoader.Loaded<BertForSequenceClassification> loadSequenceClassifier(Path dir, LabelMap labels, long seed) {
        Path onnx = BertOnnx.onnxFile(dir);
        if (onnx != null && labels == null) throw new Lora4jException(onnx + ": an ONNX encoder names no labels; give the labels");
        if (onnx != null) return BertOnnx.classifier(onnx, labels, seed);
        BertConfig config = bertConfig(dir);
        if (labels == null && config.labels() == null) {
            throw new Lora4jException(dir.resolve("config.json") + ": names no labels (id2label); give the labels (training data or an adapter's label_map.json)");
        }
        try (WeightStore weights = WeightStore.open(dir)) {
            return BertLoader.classifier(labels == null ? config : config.withLabels(labels), StateDict.Source.of(weights), seed);
        }
    }

    /** The config of a BERT-family base (directory or ONNX export), without loading its weights from a directory. */
    public static BertConfig encoderConfig(Path dir) {
        Path onnx = BertOnnx.onnxFile(dir);
        return onnx != null ? BertOnnx.config(BertOnnx.read(onnx), onnx.toString()) : bertConfig(dir);
    }

    private static BertConfig bertConfig(Path dir) {
        InputFile.requireDirectory(dir, "a model directory with config.json (or an .onnx file)");
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        String type = config.modelType();
        if (!type.equals("bert") && !type.equals("roberta")) {
            throw new Lora4jException(config.source() + ": model_type '" + type + "' is not an encoder (supported: bert, roberta)");
        }
        return BertConfig.from(config);
    }

    /** The family's map from checkpoint keys to parameter names (null for tensors the model ignores). */
    public static UnaryOperator<String> keyMapper(String modelType) {
        return switch (modelType) {
            case "gpt2" -> Gpt2Loader::modelKey;
            case "llama", "mistral", "qwen2" -> LlamaLoader::modelKey;
            case "bert", "roberta" -> key -> BertLoader.encoderKey(modelType, key);
            default -> throw new Lora4jException("unknown model_type '" + modelType + "'");
        };
    }
}
