package dev.lora4j.train;

import dev.lora4j.Lora4jException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Training stopped because a loss or the gradient norm was not finite. The last verified checkpoint (whose update
 * gave a finite loss) is kept; the pending one that held the diverged update is deleted.
 */
public final class TrainingDivergedException extends Lora4jException {
    private final int step;
    private final transient Optional<Path> lastGood;

    TrainingDivergedException(int step, String what, Optional<Path> lastGood) {
        super("step " + step + ": " + what + "; training stopped. " + lastGood
                .map(p -> "The last good checkpoint (step " + Checkpoints.stepOf(p) + ") is kept in " + p
                        + ": lower the learning rate (or fix the data) and resume from it, overriding the learning rate.")
                .orElse("No checkpoint was verified yet: lower the learning rate (or fix the data) and start again."));
        this.step = step;
        this.lastGood = lastGood;
    }

    /** The step whose loss or gradient was not finite (1-based). */
    public int step() {
        return step;
    }

    /** The checkpoint to resume from, if one was verified before the divergence. */
    public Optional<Path> lastGood() {
        return lastGood;
    }
}
