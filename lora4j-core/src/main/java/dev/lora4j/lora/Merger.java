package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.nn.Model;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds LoRA updates into the base weights for inference at no extra cost (PEFT's merge_and_unload):
 * {@code W += scale·B·A}, transposed for Conv1D storage (DoRA: {@code W ← m ⊙ (W + scale·B·A) / ‖W + scale·B·A‖_row});
 * and back ({@code unmerge}). Every ΔW and every
 * merged weight is checked finite, and every ΔW no larger than {@value #MAX_RELATIVE_UPDATE} times its W (Frobenius
 * norms; a trained adapter's update is a small fraction of W, a diverged one is orders of magnitude larger), before
 * any weight changes, so a bad adapter leaves the model untouched.
 */
public final class Merger {
    private Merger() {}

    /** The largest ‖ΔW‖ / ‖W‖ (Frobenius) merged without being asked to: beyond it, an adapter has diverged. */
    public static final double MAX_RELATIVE_UPDATE = 10;

    /** Merges every unmerged LoRA layer of the model; returns their module paths. */
    public static List<String> merge(Model model) {
        return merge(model, false);
    }

    /** As {@link #merge(Model)}; {@code allowLargeUpdates} merges updates larger than {@link #MAX_RELATIVE_UPDATE} × W too. */
    public static List<String> merge(Model model, boolean allowLargeUpdates) {
        Map<String, float[]> deltas = new LinkedHashMap<>();
        LoraInjector.loraLayers(model).forEach((name, layer) -> {
            if (layer.merged()) return;
            float[] d = layer.mergeDelta();
            float[] w = layer.base().weight().toFloat32().data();          // a compact (bf16, quantized) base is widened first
            int in = layer.base().inFeatures(), out = layer.base().outFeatures();
            double dd = 0, ww = 0;
            for (int k = 0; k < d.length; k++) {
                int o = k / in, i = k % in;
                float merged = w[layer.base().fanInFanOut() ? i * out + o : k] + d[k];
                if (!Float.isFinite(d[k]) || !Float.isFinite(merged)) {
                    throw new Lora4jException(model.peftPrefix() + name + ": merging gives a non-finite weight at [" + o + ", " + i
                            + "] (ΔW = " + d[k] + "); the adapter is corrupt or diverged; nothing was merged");
                }
                dd += (double) d[k] * d[k];
                ww += (double) w[k] * w[k];
            }
            double ratio = Math.sqrt(dd / ww);
            if (!allowLargeUpdates && ww > 0 && ratio > MAX_RELATIVE_UPDATE) {
                throw new Lora4jException(String.format("%s%s: the update is %.3g times the size of the base weight (‖ΔW‖/‖W‖, at most %.0f "
                        + "expected); the adapter has diverged; nothing was merged (allow large updates to merge it anyway)",
                        model.peftPrefix(), name, ratio, MAX_RELATIVE_UPDATE));
            }
            deltas.put(name, d);
        });
        Map<String, LoraLinear> layers = LoraInjector.loraLayers(model);
        deltas.forEach((name, d) -> layers.get(name).merge(d));
        return new ArrayList<>(deltas.keySet());
    }

    /** Subtracts the update of every merged LoRA layer again. */
    public static void unmerge(Model model) {
        LoraInjector.loraLayers(model).values().forEach(layer -> {
            if (layer.merged()) layer.unmerge();
        });
    }
}
