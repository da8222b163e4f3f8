package dev.lora4j.eval;

import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.Window;
import dev.lora4j.model.CausalLm;
import dev.lora4j.tensor.Tensor;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Mean next-token loss and perplexity of a causal LM over windows, without gradients. Windows are batched
 * and right-padded; padded positions are not scored (a causal model never attends to later positions).
 */
public final class Evaluator {
    private Evaluator() {}

    /** Result of an evaluation: mean loss per scored token, exp(loss), and the number of scored tokens. */
    public record Result(double loss, double perplexity, long tokens) {}

    /** Evaluates in batches of {@code batchSize}; {@code progress} receives the tokens scored after each batch. */
    public static Result evaluate(CausalLm model, List<Window> windows, int batchSize, LongConsumer progress) {
        model.module().train(false);
        double total = 0;
        long count = 0;
        for (int s = 0; s < windows.size(); s += batchSize) {
            List<Window> batch = windows.subList(s, Math.min(windows.size(), s + batchSize));
            int B = batch.size(), T = batch.stream().mapToInt(Window::length).max().orElseThrow();
            int[] ids = new int[B * T], targets = new int[B * T];
            java.util.Arrays.fill(targets, CrossEntropy.IGNORE_INDEX);
            for (int b = 0; b < B; b++) {
                Window w = batch.get(b);
                System.arraycopy(w.ids(), 0, ids, b * T, w.length());
                System.arraycopy(w.targets(), 0, targets, b * T, w.length());
            }
            int n = CrossEntropy.countTargets(targets);
            if (n == 0) continue;
            Tape tape = Tape.noGrad();
            Tensor loss = CrossEntropy.apply(tape, model.forward(tape, ids, B, T), targets);
            total += (double) loss.data()[0] * n;
            count += n;
            progress.accept(n);
        }
        double mean = total / count;
        return new Result(mean, Math.exp(mean), count);
    }
}
