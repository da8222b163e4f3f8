// A LoRA adapter held apart from the model it adapts, so that one frozen base serves many of them at once
// (S-LoRA, Punica): a batched forward asks it, per linear layer of the base, for the update to add to its rows.
package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

/** What a batched forward needs from an adapter: the low-rank update of each base linear layer it adapts. */
public interface LinearAdapter {
    /** The update of {@code layer} (a linear layer of the base model), or null when this adapter leaves it alone. */
    Update update(Linear layer);

    /**
     * ΔW = scale·B·A, A (r, in) and B (out, r) as PEFT's lora_A and lora_B weights: a layer's output y = x·Wᵀ + b gets
     * scale·(x·Aᵀ)·Bᵀ added, as an unmerged LoRA layer in evaluation mode adds it. A DoRA layer also has its factor
     * f = m / ‖W + scale·B·A‖ per output row (fixed, since neither W nor the adapter changes while served), and its
     * output becomes f⊙(x·Wᵀ + scale·x·Aᵀ·Bᵀ) + b; null for plain LoRA.
     */
    record Update(Tensor a, Tensor b, float scale, float[] doraFactor) {
        public Update {
            if (a.shape().rank() != 2 || b.shape().rank() != 2 || b.dim(1) != a.dim(0)) {
                throw new IllegalArgumentException("lora_B " + b.shape() + " does not match lora_A " + a.shape());
            }
            if (doraFactor != null && doraFactor.length != b.dim(0)) {
                throw new IllegalArgumentException("DoRA factor of " + doraFactor.length + " rows for lora_B " + b.shape());
            }
        }

        /** A plain LoRA update. */
        public Update(Tensor a, Tensor b, float scale) {
            this(a, b, scale, null);
        }

        public int rank() {
            return a.dim(0);
        }
    }
}
