package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;

/**
 * Grouped-query causal attention as HF modeling_llama.py's eager_attention_forward computes it: q holds NH
 * heads, k and v hold NKV heads of HD each, and query head h reads kv head h / (NH/NKV) (repeat_kv);
 * per head P = softmax(q·kᵀ·HD^−½ over the visible keys), out = P·v. Key j is visible to query i when
 * j ≤ i and, with a sliding window W > 0, j > i − W (masking_utils.sliding_window_overlay; Mistral).
 * Forward keeps only each query row's softmax max and 1/sum (B, NH, T, 2); backward recomputes the probabilities
 * a tile of rows at a time ({@link AttentionHead}). Query heads run in parallel, kv groups in backward.
 */
public final class GroupedQueryAttention {
    private GroupedQueryAttention() {}

    /**
     * Attention output (B·T, NH·HD) for q (B·T, NH·HD) and k, v (B·T, NKV·HD), rows ordered by batch then
     * position; {@code window} 0 means full causal attention.
     */
    public static Tensor apply(Tape tape, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV, int window) {
        Ops.check(NKV > 0 && NH % NKV == 0, NH + " query heads are not a multiple of " + NKV + " kv heads");
        int QW = q.dim(-1), KW = k.dim(-1), HD = QW / NH, group = NH / NKV;
        Ops.check(QW == NH * HD && KW == NKV * HD && v.dim(-1) == KW && q.size() == B * T * QW && k.size() == B * T * KW
                && v.size() == k.size(), "attention inputs q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                + " are not (" + B + "·" + T + ", " + NH + "·HD) and (" + B + "·" + T + ", " + NKV + "·HD)");
        Ops.check(window >= 0, "sliding window " + window + " is negative");
        boolean needsGrad = tape.needsGrad(q, k, v);
        Tensor out = Ops.output(q.shape(), needsGrad);
        float scale = (float) (1.0 / Math.sqrt(HD));
        float[] Q = q.data(), Kd = k.data(), V = v.data(), O = out.data();
        float[] stats = Workspace.floats(2 * B * NH * T);                                 // (B, NH, T, 2): max, 1/sum
        IntUnaryOperator qo = bh -> (bh / NH) * T * QW + (bh % NH) * HD;                 // head bh = b·NH + h in q and out
        IntFunction<AttentionHead> head = bh -> {
            int ko = (bh / NH) * T * KW + (bh % NH / group) * HD;                          // kv head h / (NH/NKV)
            return new AttentionHead(Q, qo.applyAsInt(bh), QW, Kd, ko, KW, V, ko, KW, T, HD, window, scale, 0f, 0, 0);
        };
        Gemm.parallelFor(B * NH, bh -> head.apply(bh).forward(O, qo.applyAsInt(bh), QW, stats, 2 * bh * T));
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dO = out.grad();
                float[] dQ = q.requiresGrad() ? q.grad() : null;
                float[] dK = k.requiresGrad() ? k.grad() : null;
                float[] dV = v.requiresGrad() ? v.grad() : null;
                Gemm.parallelFor(B * NKV, bg -> {                                         // a kv group's heads add into its dk, dv
                    for (int bh = bg * group; bh < (bg + 1) * group; bh++) {
                        head.apply(bh).backward(dO, qo.applyAsInt(bh), QW, stats, 2 * bh * T, dQ, dK, dV);
                    }
                });
            });
        }
        return out;
    }

    /** The first key position query {@code i} sees: 0, or i − W + 1 with a sliding window W. */
    public static int first(int i, int window) {
        return window > 0 ? Math.max(0, i - window + 1) : 0;
    }

    /**
     * Turns the raw scores S[row + j] of one query into probabilities over the visible keys [lo, hi]:
     * softmax(S·scale) there (max subtracted), 0 at every other of the {@code width} entries.
     */
    public static void softmaxRow(float[] S, int row, int lo, int hi, int width, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = lo; j <= hi; j++) max = Math.max(max, S[row + j] * scale);
        float sum = 0f;
        for (int j = lo; j <= hi; j++) {
            float e = (float) Math.exp(S[row + j] * scale - max);
            S[row + j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < width; j++) S[row + j] = j >= lo && j <= hi ? S[row + j] * inv : 0f;
    }
}
