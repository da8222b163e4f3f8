package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.io.gguf.GgufWriter;
import dev.lora4j.model.GgufLayout;
import dev.lora4j.model.ModelFamily;
import dev.lora4j.nn.CausalLm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LoRA adapter as the GGUF file llama.cpp's convert_lora_to_gguf.py writes (loaded by llama.cpp's
 * {@code --lora} and Ollama's {@code ADAPTER}): general.type "adapter", adapter.type "lora", adapter.lora.alpha as
 * FLOAT32, and per adapted module {@code <gguf name>.lora_a} = A (r, in) and {@code .lora_b} = B (out, r), F32, B's rows
 * in llama.cpp's order where the base's are permuted (q, k of llama). llama.cpp scales every module by alpha / r (r read
 * from lora_b), so one alpha is written, s·r of the first module (α·√r for rsLoRA), and a module whose own scale s'
 * differs gets B multiplied by s'·r'/alpha: the product the file gives is the adapter's exactly.
 */
public final class GgufAdapter {
    private GgufAdapter() {}

    /** Writes the LoRA layers of {@code model} (an adapter loaded with {@code config}) to {@code file}. */
    public static void write(Path file, CausalLm model, LoraConfig config) {
        GgufLayout layout = ModelFamily.of(model.modelType(), file.toString()).ggufLayout(model);
        if (layout == null) throw new Lora4jException("model_type '" + model.modelType() + "' has no llama.cpp architecture lora4j writes");
        Map<String, LoraLinear> layers = LoraInjector.loraLayers(model);
        if (layers.isEmpty()) throw new Lora4jException("the adapter adapts no module: nothing to write");
        if (config.useDora()) {
            throw new Lora4jException("a DoRA adapter (use_dora) has no llama.cpp LoRA form: its lora_magnitude_vector rescales each row of W; "
                    + "merge it into a whole model instead (to-gguf without --lora-only)");
        }
        List<String> other = AdapterIO.tensors(model, config).keySet().stream().filter(k -> !k.endsWith(".lora_A.weight") && !k.endsWith(".lora_B.weight")).toList();
        if (!other.isEmpty()) {
            throw new Lora4jException("a llama.cpp LoRA adapter holds only lora_a and lora_b, but this adapter also trains " + String.join(", ", other)
                    + " (bias or modules_to_save); merge it into a whole model instead (to-gguf without --lora-only)");
        }
        LoraLinear first = layers.values().iterator().next();
        float alpha = first.scale() * first.r();
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string(layout.architecture()));
        kv.put("general.type", GgufValue.string("adapter"));
        kv.put("adapter.type", GgufValue.string("lora"));
        kv.put("adapter.lora.alpha", GgufValue.float32(alpha));
        List<GgufWriter.Entry> tensors = new ArrayList<>();
        layers.forEach((path, layer) -> {
            if (layer.base().fanInFanOut()) throw new Lora4jException(path + ": a Conv1D layer has no llama.cpp LoRA form");
            String base = layout.tensorName(path + ".weight");
            if (base == null) throw new Lora4jException(path + ": llama.cpp's " + layout.architecture() + " has no tensor for this module");
            int r = layer.r(), in = layer.base().inFeatures(), out = layer.base().outFeatures();
            float factor = layer.scale() * r / alpha;
            float[] a = layer.loraA().data().clone(), b = layer.loraB().data();
            int[] order = layout.rowOrder(path + ".weight", out);
            float[] bb = new float[b.length];
            for (int g = 0; g < out; g++) {
                int src = order == null ? g : order[g];
                for (int k = 0; k < r; k++) bb[g * r + k] = factor == 1f ? b[src * r + k] : b[src * r + k] * factor;
            }
            tensors.add(new GgufWriter.Entry(base + ".lora_a", new long[] {in, r}, GgmlType.F32, () -> GgufWriter.encode(a, GgmlType.F32)));
            tensors.add(new GgufWriter.Entry(base + ".lora_b", new long[] {r, out}, GgmlType.F32, () -> GgufWriter.encode(bb, GgmlType.F32)));
        });
        GgufWriter.write(file, kv, tensors);
    }
}
