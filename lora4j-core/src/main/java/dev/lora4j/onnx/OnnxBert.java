// A BERT-family ONNX model seen as a Hugging Face checkpoint: HF keys, [out, in] weights and a
// BertConfig; and the way back, writing changed weights into a copy of the same ONNX file.
// Made by OnnxBertImporter; the writing follows OnnxWriter (same graph, weights replaced in place).
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code weights}: every HF key (checkpoint order) to where it lives in the ONNX file. */
public record OnnxBert(OnnxModel model, OnnxBertConfig config, Map<String, OnnxWeight> weights) {
    public OnnxBert {
        weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
    }

    /** Every weight as a fresh float32 tensor in the HF layout, keyed and ordered as an HF checkpoint. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String key : weights.keySet()) out.put(key, tensor(key));
        return out;
    }

    /** One weight in the HF layout. */
    public Tensor tensor(String key) {
        OnnxWeight w = weight(key);
        OnnxTensor stored = model.graph().initializer(w.initializer()).orElseThrow();
        return new Tensor(w.shape(), w.toHf(stored.floats()));
    }

    /** The number of weights' elements (22,565,376 for all-MiniLM-L6-v2). */
    public long parameterCount() {
        return weights.values().stream().mapToLong(w -> w.shape().numel()).sum();
    }

    /**
     * Writes the ONNX file again to {@code out} with the given weights (HF keys and layout, any subset)
     * in place of the originals, in each initializer's layout and data type; everything else is
     * byte-identical. Atomic: {@code out} is replaced only when the new file is complete.
     *
     * @throws Lora4jException for a key that is not a weight of this model or a shape that differs,
     *     listing all of them; nothing is written then
     */
    public void write(Path out, Map<String, Tensor> replacements) {
        List<String> problems = new ArrayList<>();
        Map<String, float[]> byInitializer = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : replacements.entrySet()) {
            OnnxWeight w = weights.get(e.getKey());
            if (w == null) {
                problems.add("'" + e.getKey() + "' is not a weight of this model");
            } else if (!e.getValue().shape().equals(w.shape())) {
                problems.add("'" + e.getKey() + "' has shape " + e.getValue().shape() + ", expected " + w.shape());
            } else {
                byInitializer.put(w.initializer(), w.toStored(e.getValue().data()));
            }
        }
        if (!problems.isEmpty()) {
            throw new Lora4jException(out + ": cannot write the weights into " + model.source() + ": " + String.join("; ", problems));
        }
        OnnxWriter.write(model, byInitializer, out);
    }

    private OnnxWeight weight(String key) {
        OnnxWeight w = weights.get(key);
        if (w == null) throw new Lora4jException(model.source() + ": no weight '" + key + "' (expected an HF BERT key)");
        return w;
    }
}
