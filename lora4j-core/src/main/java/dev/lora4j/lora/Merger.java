package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.model.Model;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds LoRA updates into the base weights for inference at no extra cost (PEFT's merge_and_unload):
 * {@code W += scale·B·A}, transposed for Conv1D storage; and back ({@code unmerge}). Every ΔW and every
 * merged weight is checked finite before any weight changes, so a bad adapter leaves the model untouched.
 */
public final class Merger {
    private Merger() {}

    /** Merges every unmerged LoRA layer of the model; returns their module paths. */
    public static List<String> merge(Model model) {
        Map<String, float[]> deltas = new LinkedHashMap<>();
        LoraInjector.loraLayers(model).forEach((name, layer) -> {
            if (layer.merged()) return;
            float[] d = layer.deltaWeight();
            float[] w = layer.base().weight().data();
            int in = layer.base().inFeatures(), out = layer.base().outFeatures();
            for (int k = 0; k < d.length; k++) {
                int o = k / in, i = k % in;
                float merged = w[layer.base().fanInFanOut() ? i * out + o : k] + d[k];
                if (!Float.isFinite(d[k]) || !Float.isFinite(merged)) {
                    throw new Lora4jException(model.peftPrefix() + name + ": merging gives a non-finite weight at [" + o + ", " + i
                            + "] (ΔW = " + d[k] + "); the adapter is corrupt or diverged; nothing was merged");
                }
            }
            deltas.put(name, d);
        });
        Map<String, LoraLinear> layers = LoraInjector.loraLayers(model);
        deltas.forEach((name, d) -> layers.get(name).applyDelta(d, +1));
        return new ArrayList<>(deltas.keySet());
    }

    /** Subtracts the update of every merged LoRA layer again. */
    public static void unmerge(Model model) {
        LoraInjector.loraLayers(model).values().forEach(layer -> {
            if (layer.merged()) layer.applyDelta(layer.deltaWeight(), -1);
        });
    }
}
