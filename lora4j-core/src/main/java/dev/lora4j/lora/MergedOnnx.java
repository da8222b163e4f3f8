package dev.lora4j.lora;

import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertOnnx;
import dev.lora4j.nn.Model;
import dev.lora4j.onnx.OnnxBert;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merged BERT-family model written back into the ONNX graph it was loaded from, so that an application running that
 * file gets the fine-tuned encoder as a drop-in: the graph and every other byte stay as they were.
 */
public final class MergedOnnx {
    private MergedOnnx() {}

    /**
     * Writes {@code onnxFile} again to {@code out} with {@code model}'s encoder weights (merged LoRA layers read through
     * their base_layer) in place of the originals. A classifier's head is not part of the graph and is not written.
     * Returns the HF keys written.
     */
    public static List<String> write(Path onnxFile, Model model, Path out) {
        List<String> unmerged = LoraInjector.loraLayers(model).entrySet().stream().filter(e -> !e.getValue().merged()).map(Map.Entry::getKey).toList();
        if (!unmerged.isEmpty()) throw new IllegalStateException("merge the LoRA layers first (Merger.merge): " + unmerged);
        OnnxBert onnx = BertOnnx.read(onnxFile);
        String prefix = model instanceof BertForSequenceClassification c ? BertForSequenceClassification.encoderName(c.config()) + "." : "";
        Map<String, Tensor> weights = new LinkedHashMap<>();
        model.module().namedParameters().forEach((name, t) -> {
            if (name.contains(".lora_A.") || name.contains(".lora_B.") || !name.startsWith(prefix)) return;
            String key = name.substring(prefix.length()).replace(".base_layer.", ".");
            if (onnx.weights().containsKey(key)) weights.put(key, t);
        });
        onnx.write(out, weights);
        return List.copyOf(weights.keySet());
    }
}
