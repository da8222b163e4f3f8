package dev.lora4j.model.llama;

import dev.lora4j.autograd.RmsNorm;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.Layer;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

/** HF LlamaRMSNorm (also Qwen2RMSNorm, MistralRMSNorm): one parameter {@code weight}, eps rms_norm_eps. */
public final class LlamaRmsNorm extends Module implements Layer {
    private final Tensor weight;
    private final float eps;

    public LlamaRmsNorm(int width, float eps) {
        this.weight = registerParameter("weight", Tensor.zeros(width));
        this.eps = eps;
    }

    @Override
    public Tensor forward(Tape tape, Tensor x) {
        return RmsNorm.apply(tape, x, weight, eps);
    }
}
