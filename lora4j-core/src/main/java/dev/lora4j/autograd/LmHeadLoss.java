package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.tensor.Workspace;

/**
 * The output head and the mean cross-entropy in one op, computed a chunk of rows at a time so the
 * (N, V) logits never exist at once (llm.c / Liger's fused linear cross-entropy): per chunk, logits =
 * x·Wᵀ, softmax, loss, and — when training — dlogits = (softmax − onehot)/count turned at once into
 * dx = dlogits·W and (only if W trains) dW += dlogitsᵀ·x. Backward scales those by d(loss). x (N, C),
 * W (V, C) as a tied embedding or lm_head stores it; targets −100 are ignored.
 */
public final class LmHeadLoss {
    /**
     * Logit bytes held at once, about: a chunk's rows share one packing of W (read whole from memory per chunk), so fewer,
     * larger chunks spend less of the head's time packing.
     */
    private static final long CHUNK_BYTES = 32L << 20;
    /** The GEMM micro-kernel's rows: chunks of a multiple of them leave no rows to the slower one-row kernel. */
    private static final int ROW_BLOCK = 6;

    private LmHeadLoss() {}

    public static Tensor apply(Tape tape, Tensor x, Tensor w, int[] targets) {
        int C = x.dim(-1), N = x.size() / C, V = w.dim(0);
        Ops.check(w.dim(1) == C, "head weight " + w.shape() + " does not match width " + C);
        Ops.check(targets.length == N, "targets " + targets.length + " do not match " + N + " rows");
        for (int i = 0; i < N; i++) {
            Ops.check(targets[i] == CrossEntropy.IGNORE_INDEX || (targets[i] >= 0 && targets[i] < V),
                    "target " + targets[i] + " at row " + i + " is outside [0, " + V + ")");
        }
        int count = CrossEntropy.countTargets(targets);
        boolean needsGrad = tape.needsGrad(x, w);
        Tensor loss = Ops.output(new Shape(), needsGrad);
        float[] X = x.data();
        WeightStorage W = w.storage();                                          // float32, or a frozen head held compactly
        float[] dxUnit = needsGrad && x.requiresGrad() ? Workspace.floats(x.size()) : null;
        float[] dwUnit = needsGrad && w.requiresGrad() ? Workspace.floats(w.size()) : null;
        int rows = rowsPerChunk(N, V);
        float[] logits = Workspace.floats(Math.min(N, rows + 1) * V);
        double[] rowLoss = new double[N];
        Kernels K = KernelProvider.get();
        for (int r0 = 0, n; r0 < N; r0 += n) {
            // a row alone would be a one-row product, which on a ggml block head quantizes the row: a last one joins the chunk
            n = N - r0 == rows + 1 ? rows + 1 : Math.min(rows, N - r0);
            int first = r0;
            Gemm.abt(logits, 0, V, X, r0 * C, C, W, 0, C, n, V, C, false);           // (n, V)
            Gemm.parallelFor(n, i -> {
                int t = targets[first + i], o = i * V;
                if (t == CrossEntropy.IGNORE_INDEX) {
                    java.util.Arrays.fill(logits, o, o + V, 0f);
                    return;
                }
                float max = K.max(logits, o, V);
                float target = logits[o + t];
                float sum = K.expShiftSum(logits, o, V, max);                         // logits now exp(l − max)
                rowLoss[first + i] = max + Math.log(sum) - target;
                if (needsGrad) {
                    K.scale(logits, o, V, 1f / (sum * count));                        // softmax / count
                    logits[o + t] -= 1f / count;
                }
            });
            if (dxUnit != null) Gemm.ab(dxUnit, r0 * C, C, logits, 0, V, W, 0, C, n, C, V, false);   // (n, V)·(V, C)
            if (dwUnit != null) Gemm.atb(dwUnit, 0, C, logits, 0, V, X, r0 * C, C, V, C, n, true);     // (V, n)·(n, C)
        }
        double total = 0;
        for (double r : rowLoss) total += r;
        loss.data()[0] = count == 0 ? Float.NaN : (float) (total / count);
        if (needsGrad) {
            tape.record(() -> {
                float g = loss.grad()[0];
                if (dxUnit != null) K.axpy(x.grad(), 0, g, dxUnit, 0, x.size());
                if (dwUnit != null) K.axpy(w.grad(), 0, g, dwUnit, 0, w.size());
            });
        }
        return loss;
    }

    /** Rows of logits per chunk for N rows and V classes: CHUNK_BYTES / (4·V) rounded down to ROW_BLOCK, at least 2. */
    static int rowsPerChunk(int N, int V) {
        long rows = CHUNK_BYTES / (4L * V) / ROW_BLOCK * ROW_BLOCK;
        return (int) Math.max(Math.min(N, 2), Math.min(N, rows));
    }
}
