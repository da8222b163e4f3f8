package dev.lora4j.nn;

import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;

/** A module that maps one tensor to one tensor: linear layers, norms, and LoRA wrappers of linears. */
public interface Layer {
    Tensor forward(Tape tape, Tensor x);
}
