package dev.lora4j.nn;

import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;

/** torch.nn.LayerNorm over the last dimension, parameters {@code weight} (γ) and {@code bias} (β). */
public final class LayerNorm extends Module implements Layer {
    private final Tensor weight;
    private final Tensor bias;
    private final float eps;

    public LayerNorm(int width, float eps) {
        this.weight = registerParameter("weight", Tensor.zeros(width));
        this.bias = registerParameter("bias", Tensor.zeros(width));
        this.eps = eps;
    }

    @Override
    public Tensor forward(Tape tape, Tensor x) {
        return dev.lora4j.autograd.LayerNorm.apply(tape, x, weight, bias, eps);
    }
}
