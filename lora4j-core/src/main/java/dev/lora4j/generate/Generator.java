// Autoregressive decoding with a KV cache, as HF generation utils' greedy search and sample loop:
// one prefill over the prompt, then one token per step, stopping at max_new_tokens or an eos token
// (or with an error at non-finite logits, which would otherwise sample garbage).
// Batch 1; each new token goes to a listener as soon as it is chosen (what HF's streamer receives).
package dev.lora4j.generate;

import dev.lora4j.nn.KvCache;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Runs without gradients; a LoRA adapter that wraps the model's linear layers applies as in training. The
 * model runs in the mode it is in: call {@code model.module().train(false)} first (HF's {@code model.eval()}).
 */
public final class Generator {
    private Generator() {}

    /** The generated ids (prompt and eos not included) and whether an eos token ended them. */
    public record Result(int[] tokens, boolean stoppedAtEos) {}

    /**
     * Generates after {@code prompt}, calling {@code onToken} with each new id (an eos token is neither
     * passed on nor returned, unlike HF's sequences). The prompt plus {@code maxNewTokens} must fit the
     * model's context.
     */
    public static Result generate(CausalLm model, int[] prompt, GenerationConfig config, IntConsumer onToken) {
        int P = prompt.length, maxNew = config.maxNewTokens();
        checkFits(model, P, maxNew);
        KvCache cache = model.newKvCache(P + maxNew - 1);       // the last new token is never fed back
        Sampler sampler = config.sampler();
        float[] logits = lastRow(model.forwardCached(prompt, cache, 1));
        int[] out = new int[maxNew];
        int n = 0;
        while (true) {
            requireFinite(logits, n);
            int next = sampler.sample(logits);
            if (config.isEos(next)) return new Result(Arrays.copyOf(out, n), true);
            out[n++] = next;
            onToken.accept(next);
            if (n == maxNew) return new Result(out, false);
            logits = lastRow(model.forwardCached(new int[] {next}, cache, 1));
        }
    }

    /** Throws {@link Lora4jException} unless a prompt of {@code P} tokens plus {@code maxNew} new ones fit the model's context. */
    public static void checkFits(CausalLm model, int P, int maxNew) {
        int N = model.maxPositions();
        if (P == 0) throw new Lora4jException("the prompt is empty: generation needs at least one prompt token");
        if (P >= N) {
            throw new Lora4jException("the prompt has " + P + " tokens but the model's context (n_positions) is " + N
                    + ": at most " + (N - 1) + " prompt tokens leave room to generate");
        }
        if (P + maxNew > N) {
            throw new Lora4jException("the prompt (" + P + " tokens) + " + maxNew + " new tokens exceed the model's context"
                    + " (n_positions) of " + N + ": ask for at most " + (N - P) + " new tokens or shorten the prompt");
        }
    }

    /** Sampling from NaN or infinite logits would print garbage: stop and say so. */
    private static void requireFinite(float[] logits, int generated) {
        int bad = FiniteCheck.firstNonFinite(logits, 0, logits.length);
        if (bad >= 0) {
            throw new Lora4jException("the model's logits are not finite (" + logits[bad] + " for token id " + bad + ") after "
                    + generated + " generated tokens: its weights (or the adapter's) overflow float32; generation stopped");
        }
    }

    private static float[] lastRow(Tensor logits) {   // (T, V) → the last position's (V)
        int V = logits.dim(-1), T = logits.size() / V;
        return Arrays.copyOfRange(logits.data(), (T - 1) * V, T * V);
    }
}
