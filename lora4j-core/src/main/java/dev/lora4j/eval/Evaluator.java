package dev.lora4j.eval;

import dev.lora4j.autograd.Tape;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Window;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
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
        try (Workspace ws = Workspace.open()) {
        for (int s = 0; s < windows.size(); s += batchSize) {
            ws.reset();
            Batch batch = Batch.of(windows.subList(s, Math.min(windows.size(), s + batchSize)));
            int n = batch.scored();
            if (n == 0) continue;
            Tape tape = Tape.noGrad();
            Tensor loss = model.loss(tape, batch.ids(), batch.B(), batch.T(), batch.targets());
            total += (double) loss.data()[0] * n;
            count += n;
            progress.accept(n);
        }
        }
        double mean = total / count;
        return new Result(mean, Math.exp(mean), count);
    }
}
