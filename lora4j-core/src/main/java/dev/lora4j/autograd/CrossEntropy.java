package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/**
 * Mean cross-entropy of logits (N, V) against integer targets, skipping targets equal to
 * {@link #IGNORE_INDEX} (−100, as torch.nn.CrossEntropyLoss). Returns a scalar. Forward keeps the
 * log-sum-exp per row; backward recomputes softmax from the logits: dlogits = (softmax − onehot)/count.
 */
public final class CrossEntropy {
    public static final int IGNORE_INDEX = -100;

    private CrossEntropy() {}

    /** Number of targets that count (not {@link #IGNORE_INDEX}). */
    public static int countTargets(int[] targets) {
        int n = 0;
        for (int t : targets) if (t != IGNORE_INDEX) n++;
        return n;
    }

    public static Tensor apply(Tape tape, Tensor logits, int[] targets) {
        int V = logits.dim(-1), N = logits.size() / V;
        Ops.check(targets.length == N, "targets " + targets.length + " do not match " + N + " rows of logits");
        for (int i = 0; i < N; i++) {
            Ops.check(targets[i] == IGNORE_INDEX || (targets[i] >= 0 && targets[i] < V),
                    "target " + targets[i] + " at row " + i + " is outside [0, " + V + ")");
        }
        int count = countTargets(targets);
        boolean needsGrad = tape.needsGrad(logits);
        Tensor loss = Ops.output(new Shape(), needsGrad);
        float[] L = logits.data(), lse = new float[N];
        double[] rowLoss = new double[N];
        Kernels K = KernelProvider.get();
        Gemm.parallelFor(N, i -> {
            if (targets[i] == IGNORE_INDEX) return;
            int o = i * V;
            float max = K.max(L, o, V);
            float[] row = java.util.Arrays.copyOfRange(L, o, o + V);
            double sum = K.expShiftSum(row, 0, V, max);
            lse[i] = (float) (max + Math.log(sum));
            rowLoss[i] = lse[i] - L[o + targets[i]];
        });
        double total = 0;
        for (double r : rowLoss) total += r;
        loss.data()[0] = count == 0 ? Float.NaN : (float) (total / count);
        if (needsGrad) {
            tape.record(() -> {
                float g = loss.grad()[0] / count;
                float[] dL = logits.grad();
                Gemm.parallelFor(N, i -> {
                    if (targets[i] == IGNORE_INDEX) return;
                    int o = i * V;
                    float[] p = java.util.Arrays.copyOfRange(L, o, o + V);
                    K.expShiftSum(p, 0, V, lse[i]);                                   // softmax
                    K.axpy(dL, o, g, p, 0, V);
                    dL[o + targets[i]] -= g;
                });
            });
        }
        return loss;
    }
}
