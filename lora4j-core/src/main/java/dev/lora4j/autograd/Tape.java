package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Records the backward step of each op run in a forward pass, then replays them in reverse
 * (reverse-mode autodiff over coarse ops, as llm.c does by hand). An op records a backward only when
 * one of its inputs requires a gradient, so a pass over frozen weights with a non-differentiable
 * input records nothing; {@link #noGrad()} makes a tape that never records (evaluation, generation).
 */
public final class Tape {
    private final boolean enabled;
    private final List<Runnable> backward = new ArrayList<>();
    private final List<Tensor> outputs = new ArrayList<>();   // the tensor each step differentiates, or null

    private Tape(boolean enabled) {
        this.enabled = enabled;
    }

    /** A tape that records backward steps. */
    public static Tape create() {
        return new Tape(true);
    }

    /** A tape that records nothing: ops produce outputs that never require a gradient. */
    public static Tape noGrad() {
        return new Tape(false);
    }

    /** True when an op with these inputs must produce a differentiable output. */
    public boolean needsGrad(Tensor... inputs) {
        if (!enabled) return false;
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) return true;
        }
        return false;
    }

    /** Registers the backward of an op just run; called by ops only when {@link #needsGrad} was true. */
    void record(Runnable step) {
        record(null, step);
    }

    /** As {@link #record(Runnable)}, naming the op's output: its gradient is dropped once the step has run. */
    void record(Tensor output, Runnable step) {
        backward.add(step);
        outputs.add(output);
    }

    /** Seeds d(loss)/d(loss) = 1 and runs every recorded backward step, newest first; then forgets them. */
    public void backward(Tensor loss) {
        if (loss.size() != 1) throw new IllegalArgumentException("backward needs a scalar loss, got " + loss.shape());
        backward(loss, new float[] {1f});
    }

    /** Like torch's {@code y.backward(gradient)}: seeds dJ/dy = {@code dy} for any output y, then runs backward. */
    public void backward(Tensor y, float[] dy) {
        if (!y.requiresGrad()) throw new IllegalStateException("the output does not depend on any trainable tensor");
        if (dy.length != y.size()) throw new IllegalArgumentException("seed gradient length " + dy.length + " != " + y.size());
        float[] g = y.grad();
        for (int i = 0; i < dy.length; i++) g[i] += dy[i];
        backwardFrom(y);
    }

    /** Runs every recorded backward step, newest first, for output y whose gradient is already seeded; then forgets them. */
    void backwardFrom(Tensor y) {
        for (int i = backward.size() - 1; i >= 0; i--) {
            backward.get(i).run();
            backward.set(i, null);
            Tensor out = outputs.get(i);
            if (out != null && out != y) out.clearGrad();                // fully consumed: every user of it ran before
        }
        backward.clear();
        outputs.clear();
    }

    /** Number of recorded backward steps (for tests: frozen paths record none). */
    public int size() {
        return backward.size();
    }
}
