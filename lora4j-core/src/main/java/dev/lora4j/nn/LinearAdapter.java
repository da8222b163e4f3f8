// A LoRA adapter held apart from the model it adapts, so that one frozen base serves many of them at once
// (S-LoRA, Punica): a batched forward asks it, per linear layer of the base, for the update to add to its rows.
package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

/** What a batched forward needs from an adapter: the low-rank update of each base linear layer it adapts. */
public interface LinearAdapter {
    /** The update of {@code layer} (a linear layer of the base model), or null when this adapter leaves it alone. */
    Update update(Linear layer);

    /**
     * ΔW = scale·B·A, A (r, in) and B (out, r) as PEFT's lora_A and lora_B weights: a layer's output y = x·Wᵀ gets
     * scale·(x·Aᵀ)·Bᵀ added, as an unmerged LoRA layer in evaluation mode adds it.
     */
    record Update(Tensor a, Tensor b, float scale) {
        public Update {
            if (a.shape().rank() != 2 || b.shape().rank() != 2 || b.dim(1) != a.dim(0)) {
                throw new IllegalArgumentException("lora_B " + b.shape() + " does not match lora_A " + a.shape());
            }
        }

        public int rank() {
            return a.dim(0);
        }
    }
}
