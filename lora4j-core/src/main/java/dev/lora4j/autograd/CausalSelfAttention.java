package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import java.util.function.IntFunction;

/**
 * Multi-head causal self-attention over a packed projection, as GPT-2 computes it: qkv (B, T, 3C) holds
 * [q | k | v], each C wide and split into NH heads of HS = C/NH; per head P = softmax(q·kᵀ/√HS with
 * future positions masked), optional dropout on P, out = P·v; heads merged back to (B, T, C).
 * Forward keeps only each query row's softmax max and 1/sum (B, NH, T, 2); backward recomputes the probabilities
 * and the dropout mask a tile of rows at a time ({@link AttentionHead}). Heads run in parallel.
 */
public final class CausalSelfAttention {
    private CausalSelfAttention() {}

    /** The dropout mask of head bh = b·NH + h, element (i, j), is element (bh·T + i)·T + j of {@link Dropout#mask} from {@code seed}. */
    public static Tensor apply(Tape tape, Tensor qkv, int B, int T, int NH, float dropout, long seed) {
        int C3 = qkv.dim(-1), C = C3 / 3, HS = C / NH;
        Ops.check(C3 == 3 * C && C == NH * HS && qkv.size() == B * T * C3,
                "attention input " + qkv.shape() + " is not (" + B + ", " + T + ", 3·C) with C divisible by " + NH);
        Ops.check(dropout >= 0f && dropout < 1f, "attention dropout must be in [0, 1), got " + dropout);
        boolean needsGrad = tape.needsGrad(qkv);
        Tensor out = Ops.output(Ops.withLast(qkv.shape(), C), needsGrad);         // (B, T, C) or (B·T, C)
        float scale = (float) (1.0 / Math.sqrt(HS));
        float[] X = qkv.data(), O = out.data();
        float[] stats = Workspace.floats(2 * B * NH * T);                         // (B, NH, T, 2): max, 1/sum
        IntFunction<AttentionHead> head = bh -> {
            int q = (bh / NH) * T * C3 + (bh % NH) * HS;                          // q, k, v of head h in row b·T
            return new AttentionHead(X, q, C3, X, q + C, C3, X, q + 2 * C, C3, T, HS, 0, scale, dropout, seed, (long) bh * T * T);
        };
        Gemm.parallelFor(B * NH, bh -> head.apply(bh).forward(O, (bh / NH) * T * C + (bh % NH) * HS, C, stats, 2 * bh * T));
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dO = out.grad(), dX = qkv.grad();
                Gemm.parallelFor(B * NH, bh -> head.apply(bh).backward(dO, (bh / NH) * T * C + (bh % NH) * HS, C, stats, 2 * bh * T, dX, dX, dX));
            });
        }
        return out;
    }
}
