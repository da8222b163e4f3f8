package dev.lora4j.model.bert;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.onnx.OnnxBert;
import dev.lora4j.onnx.OnnxBertConfig;
import dev.lora4j.onnx.OnnxBertImporter;
import dev.lora4j.onnx.OnnxModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A BERT-family ONNX export (all-MiniLM-L6-v2's, say) as a base model: its weights under HF keys and its config
 * through {@link OnnxBertImporter}, loaded like a checkpoint; and the way out, the model's current (merged)
 * encoder weights written into a copy of the same ONNX graph, in place of the originals.
 */
public final class BertOnnx {
    private BertOnnx() {}

    /** The .onnx file a base path names: the file itself, or the only one in a directory without config.json; else null. */
    public static Path onnxFile(Path path) {
        if (Files.isRegularFile(path)) return path.getFileName().toString().endsWith(".onnx") ? path : null;
        if (!Files.isDirectory(path) || Files.exists(path.resolve("config.json"))) return null;
        try (Stream<Path> files = Files.list(path)) {
            List<Path> onnx = files.filter(f -> f.getFileName().toString().endsWith(".onnx")).toList();
            if (onnx.size() > 1) throw new Lora4jException(path + ": holds several .onnx files " + onnx + "; name one");
            return onnx.isEmpty() ? null : onnx.get(0);
        } catch (IOException e) {
            throw new Lora4jException(path + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** Reads and maps an ONNX file (strict: every initializer must be a BERT weight). */
    public static OnnxBert read(Path onnxFile) {
        return OnnxBertImporter.read(OnnxModel.read(onnxFile));
    }

    /** The config the graph states, with HF's defaults for what an inference graph does not hold (dropout, init range; no labels). */
    public static BertConfig config(OnnxBert onnx, String source) {
        OnnxBertConfig c = onnx.config();
        try {
                return new BertConfig(c.modelType(), c.vocabSize(), c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(), c.intermediateSize(),
                    BertConfig.activation(c.hiddenAct(), source), c.maxPositionEmbeddings(), c.typeVocabSize(), (float) c.layerNormEps(),
                    c.padTokenId(), 0.1f, 0.1f, null, 0.02f, null);
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(source + ": " + e.getMessage(), e);
        }
    }

    public static BertModel encoder(Path onnxFile) {
        OnnxBert onnx = read(onnxFile);
        return BertLoader.encoder(config(onnx, onnxFile.toString()), StateDict.Source.of(onnx.stateDict(), onnxFile.toString()));
    }

    public static BertLoader.Loaded<BertForSequenceClassification> classifier(Path onnxFile, LabelMap labels, long seed, WeightHolding holding) {
        OnnxBert onnx = read(onnxFile);
        BertConfig config = config(onnx, onnxFile.toString()).withLabels(labels);
        return BertLoader.classifier(config, StateDict.Source.of(onnx.stateDict(), onnxFile.toString()), seed, holding);
    }
}
