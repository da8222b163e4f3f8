package dev.lora4j.model;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.BnbQuantization;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.WeightStore;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.BertModel;
import dev.lora4j.model.bert.BertOnnx;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a Hugging Face model directory (or an ONNX encoder): reads config.json, lets its {@link ModelFamily} build the model. */
public final class ModelLoader {
    private ModelLoader() {}

    /**
     * The causal LM of a Hugging Face directory, built by the family its config.json names, or of a GGUF file
     * (llama.cpp, Ollama), built by the family its general.architecture names.
     */
    public static CausalLm load(Path dir) {
        return load(dir, WeightHolding.FLOAT32);
    }

    /**
     * {@link #load(Path)} with the weights held as {@code holding} says as they are read: a frozen base loaded straight
     * into bfloat16 or a quantization, never whole in float32 (a GGUF file's quantized matrices stay in their blocks).
     */
    public static CausalLm load(Path dir, WeightHolding holding) {
        if (GgufFile.isGguf(dir)) {
            try (GgufFile gguf = GgufFile.open(dir)) {
                return GgufFamily.of(gguf).causalLm(gguf, holding);
            }
        }
        InputFile.requireDirectory(dir, "a model directory with config.json (or a .gguf file)");
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        ModelFamily family = ModelFamily.of(config);
        if (!(family instanceof LlamaFamily)) refuseQuantized(config);
        return family.causalLm(config, dir, holding);
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
        return loadSequenceClassifier(dir, labels, seed, WeightHolding.FLOAT32);
    }

    /** {@link #loadSequenceClassifier(Path, LabelMap, long)} with the loaded weights held as {@code holding} says. */
    public static BertLoader.Loaded<BertForSequenceClassification> loadSequenceClassifier(Path dir, LabelMap labels, long seed,
                                                                                         WeightHolding holding) {
        Path onnx = BertOnnx.onnxFile(dir);
        if (onnx != null && labels == null) throw new Lora4jException(onnx + ": an ONNX encoder names no labels; give the labels");
        if (onnx != null) return BertOnnx.classifier(onnx, labels, seed, holding);
        BertConfig config = bertConfig(dir);
        if (labels == null && config.labels() == null) {
            throw new Lora4jException(dir.resolve("config.json") + ": names no labels (id2label); give the labels (training data or an adapter's label_map.json)");
        }
        try (WeightStore weights = WeightStore.open(dir)) {
            return BertLoader.classifier(labels == null ? config : config.withLabels(labels), StateDict.Source.of(weights), seed, holding);
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
        if (!(ModelFamily.of(config) instanceof BertFamily)) {
            throw new Lora4jException(config.source() + ": model_type '" + config.modelType() + "' is not an encoder (supported: "
                    + String.join(", ", ModelFamily.ALL.stream().filter(x -> x.supports(TaskType.SEQ_CLS)).flatMap(x -> x.modelTypes().stream()).toList()) + ")");
        }
        refuseQuantized(config);
        return BertConfig.from(config);
    }

    /** Only the Llama family reads bitsandbytes 4-bit checkpoints. */
    private static void refuseQuantized(HfConfig config) {
        if (BnbQuantization.of(config) != null) {
            throw new Lora4jException(config.source() + ": a bitsandbytes 4-bit checkpoint of model_type '" + config.modelType()
                    + "': lora4j reads those of " + String.join(", ", new LlamaFamily().modelTypes()) + " only; give the unquantized model");
        }
    }

    /** The task a base is trained for by default: its family's first (sequence classification for an encoder or an .onnx export). */
    public static TaskType defaultTask(Path model) {
        if (BertOnnx.onnxFile(model) != null) return TaskType.SEQ_CLS;
        if (GgufFile.isGguf(model)) return TaskType.CAUSAL_LM;
        Path config = model.resolve("config.json");
        if (!Files.isRegularFile(config)) return TaskType.CAUSAL_LM;      // loading then says what is missing
        return ModelFamily.of(HfConfig.read(config)).tasks().getFirst();
    }
}
