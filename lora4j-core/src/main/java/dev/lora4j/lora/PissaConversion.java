// PEFT's conversion of a trained PiSSA adapter into a plain LoRA for the original base (save_pretrained with
// path_initial_model_for_weight_conversion: LoraModel.subtract_mutated_init and the config edits of
// PeftModel.save_pretrained). With W = W_res + s·B0·A0 at init and W_res + s·B·A after training,
//   ΔW = s·(B·A − B0·A0) = s·[B | −B0]·[A ; A0],   lora_A' = cat([A, A0], dim=0) (2r, in),  lora_B' = cat([B, −B0], dim=1) (out, 2r)
// and the config gets r, rank_pattern ×2 and lora_alpha, alpha_pattern ×2 (×√2 with rsLoRA) so every scale is unchanged,
// init_lora_weights true. Unlike PEFT, the adapter's other tensors (biases, modules_to_save, DoRA's magnitude, which is
// the norm of the same W_res + s·B·A) are kept, and rsLoRA with rank or alpha patterns (which PEFT refuses to convert)
// is converted with the patterns' alphas ×√2 too.
package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.nn.Model;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Turns a PiSSA-initialised adapter (trained on the residual base) into the rank-2r LoRA that loads on the original base. */
public final class PissaConversion {
    private PissaConversion() {}

    /** The adapter_config of the converted adapter: ranks doubled, alphas so that every scale stays, init_lora_weights true. */
    public static LoraConfig config(LoraConfig pissa) {
        double f = pissa.useRslora() ? Math.sqrt(2) : 2;          // alpha / r or alpha / √r unchanged when r doubles
        Map<String, Integer> ranks = new LinkedHashMap<>();
        pissa.rankPattern().forEach((k, v) -> ranks.put(k, 2 * v));
        Map<String, Double> alphas = new LinkedHashMap<>();
        pissa.alphaPattern().forEach((k, v) -> alphas.put(k, f * v));
        return pissa.withInit(LoraConfig.Init.DEFAULT).withR(2 * pissa.r()).withAlpha(f * pissa.loraAlpha())
                .withRankPattern(ranks).withAlphaPattern(alphas);
    }

    /**
     * The converted adapter's tensors under their PEFT keys: {@link AdapterIO#tensors}, with each PiSSA layer's lora_A and
     * lora_B replaced by [A ; A0] (2r, in) and [B | −B0] (out, 2r).
     */
    public static Map<String, Tensor> tensors(Model model, LoraConfig config) {
        Map<String, Tensor> out = new LinkedHashMap<>(AdapterIO.tensors(model, config));
        String prefix = AdapterIO.KEY_PREFIX + model.peftPrefix();
        LoraInjector.loraLayers(model).forEach((name, l) -> {
            if (l.pissaA0() == null) throw new IllegalStateException(name + " was not initialised by PiSSA");
            int r = l.r(), in = l.base().inFeatures(), outF = l.base().outFeatures();
            float[] a = new float[2 * r * in], b = new float[outF * 2 * r];
            System.arraycopy(l.loraA().data(), 0, a, 0, r * in);
            System.arraycopy(l.pissaA0(), 0, a, r * in, r * in);
            float[] bt = l.loraB().data(), b0 = l.pissaB0();
            for (int o = 0; o < outF; o++) {
                for (int k = 0; k < r; k++) {
                    b[o * 2 * r + k] = bt[o * r + k];
                    b[o * 2 * r + r + k] = -b0[o * r + k];
                }
            }
            out.put(prefix + name + ".lora_A.weight", Tensor.of(a, 2 * r, in));
            out.put(prefix + name + ".lora_B.weight", Tensor.of(b, outF, 2 * r));
        });
        return out;
    }

    /**
     * The refusal of a PiSSA adapter saved as trained: its A and B belong to the residual base, which is not the model
     * they would be applied to.
     */
    static Lora4jException unconverted(Path configFile, LoraConfig config) {
        return new Lora4jException(configFile + ": init_lora_weights is \"" + config.initPeftValue() + "\": a PiSSA adapter saved "
                + "without PEFT's conversion (save_pretrained's path_initial_model_for_weight_conversion), so its lora_A/lora_B "
                + "belong to the residual base W - scale*B0*A0, not to the original model; save it converted (a rank-2r plain "
                + "LoRA; lora4j train writes PiSSA runs that way) and use that adapter");
    }
}
