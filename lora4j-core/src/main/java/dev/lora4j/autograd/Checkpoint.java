package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.util.Collection;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Activation recomputation, as torch.utils.checkpoint does it (HF's gradient_checkpointing): the forward runs a block
 * without recording and keeps only its input and output; right before the block's backward, its forward runs again on
 * a recording tape and that tape's backward runs at once. So one block's activations exist at a time, not every
 * block's, for one more forward per block. The block's randomness (dropout seeds) is saved before the forward and put
 * back for the recomputation (torch's preserve_rng_state), so the recomputed activations are the forward's bits and
 * the gradients equal those of the plain run. Each run of the block gets a workspace of its own, nested in the caller's
 * ({@link Workspace#open()}), whose arrays go back to the caller's pool when it closes, ready for the next block.
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** A block of layers: y = f(x) with the same shape, its own ops recorded on {@code tape}. */
    @FunctionalInterface
    public interface Block {
        Tensor forward(Tape tape, Tensor x);
    }

    /**
     * {@code block} over x (any shape, the output's too), recomputed for its backward; {@code seeds} and {@code reseed}
     * read and set where the block draws its randomness from (the model's dropout seeds). Without a gradient to compute
     * (no-grad tape, nothing trainable among x and {@code parameters}, the block's parameters) it is the plain forward.
     */
    public static Tensor apply(Tape tape, Tensor x, Collection<Tensor> parameters, Supplier<long[]> seeds, Consumer<long[]> reseed,
                               Block block) {
        if (!tape.needsGrad(x) && !tape.needsGrad(parameters.toArray(Tensor[]::new))) return block.forward(tape, x);
        Tensor out = Ops.output(x.shape(), true);
        long[] state = seeds.get();
        try (Workspace ws = Workspace.open()) {
            Tensor y = block.forward(Tape.noGrad(), x);
            Ops.check(y.shape().equals(x.shape()), "a checkpointed block maps " + x.shape() + " to " + y.shape() + ", not the same shape");
            System.arraycopy(y.data(), 0, out.data(), 0, y.size());
        }
        tape.record(out, () -> {
            float[] dOut = out.grad();
            if (x.requiresGrad()) x.grad();                       // allocated in the caller's workspace: it outlives the block's
            long[] after = seeds.get();
            reseed.accept(state);
            try (Workspace ws = Workspace.open()) {
                Tape recording = Tape.create();
                Tensor y = block.forward(recording, x);
                if (y.requiresGrad()) {
                    System.arraycopy(dOut, 0, y.grad(), 0, y.size());
                    recording.backwardFrom(y);
                }
            }
            reseed.accept(after);
        });
        return out;
    }
}
