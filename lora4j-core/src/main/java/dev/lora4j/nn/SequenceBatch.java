// Several independent sequences run through a causal LM in one forward pass, each with its own KV cache (so its own
// positions) and its own LoRA adapter or none: the continuous batching of vLLM with Punica's multi-adapter batches
// (rows tagged with their adapter; one product through the frozen base for every row, then per adapter x·Aᵀ·Bᵀ
// over its rows). What depends on a position (position ids, RoPE, attention over the cache) runs per sequence.
package dev.lora4j.nn;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.DoraDelta;
import dev.lora4j.autograd.LoraDelta;
import dev.lora4j.autograd.MatMul;
import dev.lora4j.autograd.Tape;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import java.util.Arrays;
import java.util.List;

/**
 * The rows of one forward pass: the new tokens of each sequence, one sequence after another. Every sequence gets the
 * same bits it would get alone ({@link CausalLm#forwardCached} with its adapter injected unmerged): a lone sequence runs
 * exactly that code; when every sequence brings one token (a decoding step) each row goes through the one-row kernels
 * ({@link Gemm#rowsAbt}), so its result does not depend on the other rows; otherwise each sequence's rows run as their
 * own product. Sequences with the same adapter should be next to each other: an adapter's update runs once per run of
 * consecutive rows that use it (Punica's segments).
 */
public final class SequenceBatch {
    /** One sequence: its new token ids, its KV cache (whose length is the position of the first new token) and its adapter (null: the base). */
    public record Sequence(int[] newIds, KvCache cache, LinearAdapter adapter) {
        public Sequence {
            if (newIds.length < 1) throw new IllegalArgumentException("a sequence in a batch needs at least one new token");
            if (cache == null) throw new IllegalArgumentException("a sequence in a batch needs its KV cache");
            newIds = newIds.clone();
        }

        @Override
        public int[] newIds() {
            return newIds.clone();
        }
    }

    /** What a per-sequence step computes from the rows of sequence {@code s}. */
    @FunctionalInterface
    public interface PerSequence {
        Tensor apply(int s, Tensor rows);
    }

    /** What attention computes from sequence {@code s}'s rows of q, k and v. */
    @FunctionalInterface
    public interface PerSequence3 {
        Tensor apply(int s, Tensor q, Tensor k, Tensor v);
    }

    private final List<Sequence> sequences;
    private final int[] starts;          // first row of each sequence; starts[S] = rows
    private final int logitsToKeep;      // one sequence: the last rows whose logits are computed (0 = all); several: 1
    private final boolean oneRowEach;

    private SequenceBatch(List<Sequence> sequences, int logitsToKeep) {
        if (sequences.isEmpty()) throw new IllegalArgumentException("a batch needs at least one sequence");
        this.sequences = List.copyOf(sequences);
        this.starts = new int[sequences.size() + 1];
        boolean one = true;
        for (int s = 0; s < sequences.size(); s++) {
            int T = sequences.get(s).newIds.length;
            starts[s + 1] = starts[s] + T;
            one &= T == 1;
        }
        this.oneRowEach = one;
        this.logitsToKeep = logitsToKeep;
    }

    /** Several sequences; the logits kept are the last new position's of each. */
    public static SequenceBatch of(List<Sequence> sequences) {
        return new SequenceBatch(sequences, 1);
    }

    /** One sequence without an adapter, keeping the logits of its last {@code logitsToKeep} new positions (0 = all). */
    public static SequenceBatch of(int[] newIds, KvCache cache, int logitsToKeep) {
        if (logitsToKeep < 0 || logitsToKeep > newIds.length) {
            throw new IllegalArgumentException("logitsToKeep " + logitsToKeep + " is outside [0, " + newIds.length + "]");
        }
        return new SequenceBatch(List.of(new Sequence(newIds, cache, null)), logitsToKeep);
    }

    /** Number of sequences (S). */
    public int size() {
        return sequences.size();
    }

    /** Number of rows: all new tokens of all sequences. */
    public int rows() {
        return starts[starts.length - 1];
    }

    public Sequence sequence(int s) {
        return sequences.get(s);
    }

    public KvCache cache(int s) {
        return sequences.get(s).cache;
    }

    /** New tokens of sequence {@code s}. */
    public int length(int s) {
        return starts[s + 1] - starts[s];
    }

    /** The new token ids of every row. */
    public int[] ids() {
        int[] ids = new int[rows()];
        for (int s = 0; s < size(); s++) System.arraycopy(sequences.get(s).newIds, 0, ids, starts[s], length(s));
        return ids;
    }

    /** The position id of every row: its sequence's cache length plus its index among the sequence's new tokens. */
    public int[] positions() {
        int[] pos = new int[rows()];
        for (int s = 0; s < size(); s++) {
            int past = cache(s).length();
            for (int i = 0; i < length(s); i++) pos[starts[s] + i] = past + i;
        }
        return pos;
    }

    /**
     * Checks every cache against a model of {@code layers} layers of {@code width} floats per position and a context of
     * {@code context} positions (the config field {@code contextField}): too many tokens for the context is a
     * {@link Lora4jException}, a cache of another shape or too small an {@link IllegalArgumentException}.
     */
    public void check(int layers, int width, int context, String contextField) {
        for (Sequence q : sequences) {
            KvCache cache = q.cache;
            int T = q.newIds.length, past = cache.length();
            if (cache.layers() != layers || cache.width() != width) {
                throw new IllegalArgumentException("KV cache of " + cache.layers() + " layers × " + cache.width()
                        + " does not fit this model (" + layers + " × " + width + ")");
            }
            if (past + T > context) {
                throw new Lora4jException(past + " cached + " + T + " new tokens exceed the model's context " + contextField + " " + context);
            }
            if (past + T > cache.capacity()) {
                throw new IllegalArgumentException(past + " cached + " + T + " new tokens exceed the KV cache capacity " + cache.capacity());
            }
        }
    }

    /** Marks every sequence's new tokens cached, after every layer wrote their keys and values. */
    public void advance() {
        for (int s = 0; s < size(); s++) cache(s).advance(length(s));
    }

    /** {@code fn} over each sequence's rows of x (all rows), the results one after another (x itself for one sequence). */
    public Tensor perSequence(Tensor x, PerSequence fn) {
        if (size() == 1) return fn.apply(0, x);
        Tensor[] parts = new Tensor[size()];
        for (int s = 0; s < size(); s++) parts[s] = fn.apply(s, slice(x, starts[s], starts[s + 1]));
        return concat(parts);
    }

    /** {@code fn} over each sequence's rows of q, k and v, the results one after another. */
    public Tensor perSequence(Tensor q, Tensor k, Tensor v, PerSequence3 fn) {
        if (size() == 1) return fn.apply(0, q, k, v);
        Tensor[] parts = new Tensor[size()];
        for (int s = 0; s < size(); s++) {
            int r0 = starts[s], r1 = starts[s + 1];
            parts[s] = fn.apply(s, slice(q, r0, r1), slice(k, r0, r1), slice(v, r0, r1));
        }
        return concat(parts);
    }

    /** The rows whose logits are computed: the last {@code logitsToKeep} of one sequence (0 = all), else the last of each. */
    public Tensor keptRows(Tensor x) {
        int C = x.dim(-1);
        if (size() == 1) {
            int T = rows();
            if (logitsToKeep == 0 || logitsToKeep == T) return x;
            return Tensor.of(Arrays.copyOfRange(x.data(), (T - logitsToKeep) * C, T * C), logitsToKeep, C);
        }
        if (oneRowEach) return x;
        float[] out = new float[size() * C];
        for (int s = 0; s < size(); s++) System.arraycopy(x.data(), (starts[s + 1] - 1) * C, out, s * C, C);
        return Tensor.of(out, size(), C);
    }

    /**
     * A linear layer over x, its rows either all rows of the batch or one per sequence ({@link #keptRows}), plus each
     * sequence's adapter update of that layer. A lone sequence runs {@code layer.forward} (an injected LoRA layer
     * applies) then its adapter's update as {@link LoraDelta}; several sequences need the base's plain {@link Linear}.
     */
    public Tensor linear(Tape tape, Layer layer, Tensor x) {
        if (size() == 1) {
            Tensor y = layer.forward(tape, x);
            LinearAdapter adapter = sequences.getFirst().adapter;
            Linear linear = adapter == null ? null : baseLinear(layer);
            LinearAdapter.Update u = adapter == null ? null : adapter.update(linear);
            if (u == null) return y;
            if (u.doraFactor() == null) return LoraDelta.addInto(tape, y, x, u.a(), u.b(), u.scale());
            DoraDelta.addIntoWithFactor(y, x, linear.bias(), u.a(), u.b(), u.doraFactor(), u.scale());
            return y;
        }
        Linear linear = baseLinear(layer);
        if (!rowPerSequence(x)) {
            return perSequence(x, (s, rows) -> single(s).linear(tape, linear, rows));
        }
        Tensor y = product(x, linear.weight(), linear.fanInFanOut());
        if (linear.bias() != null) {
            float[] Y = y.data(), b = linear.bias().data();
            int out = b.length;
            for (int r = 0; r < y.size() / out; r++) {
                for (int j = 0, o = r * out; j < out; j++) Y[o + j] += b[j];
            }
        }
        addUpdates(linear, x, y);
        return y;
    }

    /** x·Wᵀ (or x·W when {@code fanInFanOut}), each sequence's rows as if alone: the tied output head. */
    public Tensor matmul(Tape tape, Tensor x, Tensor weight, boolean fanInFanOut) {
        if (size() == 1) return MatMul.linear(tape, x, weight, null, fanInFanOut);
        if (!rowPerSequence(x)) return perSequence(x, (s, rows) -> MatMul.linear(tape, rows, weight, null, fanInFanOut));
        return product(x, weight, fanInFanOut);
    }

    /** Whether x's rows are one per sequence (each a product of its own), rather than several rows of some sequence. */
    private boolean rowPerSequence(Tensor x) {
        int N = x.size() / x.dim(-1);
        if (N == size()) return true;
        if (N != rows()) throw new IllegalArgumentException(N + " rows for a batch of " + size() + " sequences of " + rows() + " tokens");
        return oneRowEach;
    }

    /** The rows of x (one per sequence) times the weight, each row by the one-row kernel. */
    private static Tensor product(Tensor x, Tensor weight, boolean fanInFanOut) {
        int in = x.dim(-1), N = x.size() / in, out = fanInFanOut ? weight.dim(1) : weight.dim(0);
        if ((fanInFanOut ? weight.dim(0) : weight.dim(1)) != in) {
            throw new IllegalArgumentException("input " + x.shape() + " does not match weight " + weight.shape());
        }
        Tensor y = Tensor.zeros(N, out);
        WeightStorage W = weight.storage();
        if (fanInFanOut) Gemm.rowsAb(y.data(), 0, out, x.data(), 0, in, W, 0, out, N, out, in, false);
        else Gemm.rowsAbt(y.data(), 0, out, x.data(), 0, in, W, 0, in, N, out, in, false);
        return y;
    }

    /**
     * y += scale·(x·Aᵀ)·Bᵀ for each run of consecutive rows (one per sequence) that share an adapter: the shrink to r
     * columns then the expand of Punica's SGMV, each row as {@link LoraDelta} computes it for a lone row; a DoRA update
     * as {@link DoraDelta} computes it for a lone row (y − b scaled by its factor, plus its factor times the update).
     */
    private void addUpdates(Linear linear, Tensor x, Tensor y) {
        int in = x.dim(-1), out = y.dim(-1);
        float[] X = x.data(), Y = y.data();
        for (int s0 = 0; s0 < size(); ) {
            LinearAdapter adapter = sequences.get(s0).adapter;
            int s1 = s0 + 1;
            while (s1 < size() && sequences.get(s1).adapter == adapter) s1++;
            LinearAdapter.Update u = adapter == null ? null : adapter.update(linear);
            if (u != null && u.doraFactor() != null) {
                int g = s1 - s0, r = u.rank();
                float[] us = new float[g * r], l = new float[g * out], p = Arrays.copyOfRange(Y, s0 * out, s1 * out);
                Gemm.rowsAbt(us, 0, r, X, s0 * in, in, u.a().storage(), 0, in, g, r, in, false);        // x·Aᵀ (g, r)
                Gemm.rowsAbt(l, 0, out, us, 0, r, u.b().storage(), 0, r, g, out, r, false);            // x·Aᵀ·Bᵀ (g, out)
                if (linear.bias() != null) DoraDelta.subtractRows(p, linear.bias().data(), g, out);
                DoraDelta.combine(Y, s0 * out, p, l, u.doraFactor(), u.scale(), g, out);
            } else if (u != null) {
                int g = s1 - s0, r = u.rank();
                float[] us = new float[g * r];                                                     // s·x·Aᵀ (g, r)
                Gemm.rowsAbt(us, 0, r, X, s0 * in, in, u.a().storage(), 0, in, g, r, in, false);
                KernelProvider.get().scale(us, 0, us.length, u.scale());
                Gemm.rowsAbt(Y, s0 * out, out, us, 0, r, u.b().storage(), 0, r, g, out, r, true);   // y += us·Bᵀ
            }
            s0 = s1;
        }
    }

    /** Sequence s alone, keeping all its rows. */
    private SequenceBatch single(int s) {
        return new SequenceBatch(List.of(sequences.get(s)), 0);
    }

    private static Linear baseLinear(Layer layer) {
        if (layer instanceof Linear l) return l;
        throw new IllegalArgumentException("a batch with adapters per sequence needs the base's plain linear layers, not "
                + layer.getClass().getSimpleName() + " (load the base without an injected adapter)");
    }

    private static Tensor slice(Tensor x, int r0, int r1) {
        int C = x.dim(-1);
        return Tensor.of(Arrays.copyOfRange(x.data(), r0 * C, r1 * C), r1 - r0, C);
    }

    private static Tensor concat(Tensor[] parts) {
        int C = parts[0].dim(-1), n = 0;
        for (Tensor p : parts) n += p.size() / C;
        float[] out = new float[n * C];
        int at = 0;
        for (Tensor p : parts) {
            System.arraycopy(p.data(), 0, out, at, p.size());
            at += p.size();
        }
        return Tensor.of(out, n, C);
    }
}
