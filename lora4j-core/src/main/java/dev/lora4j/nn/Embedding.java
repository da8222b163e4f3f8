package dev.lora4j.nn;

import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;

/** torch.nn.Embedding: a (V, C) table {@code weight}, looked up by integer ids. */
public final class Embedding extends Module {
    private final Tensor weight;

    public Embedding(int count, int width) {
        this.weight = registerParameter("weight", Tensor.zeros(count, width));
    }

    /** (N, C) rows of the table for N ids. */
    public Tensor forward(Tape tape, int[] ids) {
        return dev.lora4j.autograd.Embedding.apply(tape, weight, ids);
    }

    public Tensor weight() {
        return weight;
    }
}
