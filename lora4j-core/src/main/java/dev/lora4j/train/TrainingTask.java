package dev.lora4j.train;

import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * What the {@link Trainer} optimises, whatever the model: a numbered set of examples, the loss of a
 * micro-batch of them recorded on a tape, and held-out metrics. {@link CausalLmTask} is next-token
 * prediction; sequence classification is another.
 */
public interface TrainingTask {
    /** The model whose parameters with {@code requiresGrad} are trained. */
    Module module();

    /** Number of training examples (windows, labelled texts, ...). */
    int size();

    /** The number of tokens of training example {@code i}, for length-grouped batching (1 when all are alike). */
    default int length(int i) {
        return 1;
    }

    /** The mean loss of the given examples on {@code tape} (a scalar), and the number of scored tokens or examples. */
    Loss loss(Tape tape, List<Integer> examples);

    /** Held-out metrics by name ("eval_loss", "eval_accuracy", ...); empty when there is no held-out data. */
    Map<String, Double> evaluate();

    /** A micro-batch's loss and what it scored. */
    record Loss(Tensor value, long scored) {}
}
