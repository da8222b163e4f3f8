// LoRA+ (Hayou, Ghosh & Yu 2024, arXiv 2402.12354): B learns faster than A. The parameter groups of PEFT's
// create_loraplus_optimizer (peft/optimizers/loraplus.py): lora_B and every 1-D trainable tensor (biases, DoRA's
// magnitudes, norm weights) at lr × loraplus_lr_ratio, everything else (lora_A, a trained head's matrices) at lr; weight
// decay (its loraplus_weight_decay) on both groups except the biases and norm weights of the faster one. Its embedding
// group (LoRA on an embedding layer, lr loraplus_lr_embedding) has no members here: lora4j adapts linear layers only.
package dev.lora4j.train;

import dev.lora4j.model.llama.LlamaRmsNorm;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/** AdamW's parameter groups for LoRA+. */
final class LoraPlus {
    private LoraPlus() {}

    /**
     * The group of each trainable tensor of {@code model}: lr × {@code ratio} for lora_B and 1-D tensors, lr for the rest;
     * {@code weightDecay} except for the biases and norm weights at the higher rate (transformers' decay_parameters:
     * not in a LayerNorm, no "bias" in the name).
     */
    static Map<String, AdamW.Group> groups(Module model, Map<String, Tensor> trainable, float ratio, float weightDecay) {
        Map<String, AdamW.Group> out = new LinkedHashMap<>();
        trainable.forEach((name, p) -> {
            boolean fast = name.contains("lora_B") || p.shape().rank() == 1;
            boolean decays = !name.contains("bias") && !inNorm(model, name);
            out.put(name, new AdamW.Group(fast ? ratio : 1f, fast && !decays ? 0f : weightDecay));
        });
        return out;
    }

    private static boolean inNorm(Module model, String parameter) {
        int dot = parameter.lastIndexOf('.');
        Module owner = dot < 0 ? model : model.find(parameter.substring(0, dot));
        return owner instanceof LayerNorm || owner instanceof LlamaRmsNorm;
    }
}
