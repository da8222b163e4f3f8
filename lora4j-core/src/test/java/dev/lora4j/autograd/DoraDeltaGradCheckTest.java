package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.GradCheck;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * DoRA's op against a double-precision reference written here, in both weight layouts (Linear (out, in), Conv1D
 * (in, out)), with and without a separate dropout input: y = x·Wᵀ + b + (f − 1)⊙(xd·Wᵀ) + f⊙s·(xd·Aᵀ)·Bᵀ, f = m / c,
 * c = ‖W + s·B·A‖ per output row. The norm is a constant in the backward (PEFT detaches it), so the reference
 * computes c once from the starting values and the finite differences move every input but c: their derivative is
 * exactly the gradient DoRA's backward must give (for x, xd, b, A, B and m; W is frozen).
 */
class DoraDeltaGradCheckTest {
    private final SplittableRandom rnd = new SplittableRandom(7);

    @Test
    void doraMatchesTheReferenceWithTheNormDetached() {
        int N = 5, in = 7, out = 6, r = 3;
        float s = 0.7f;
        for (boolean fif : new boolean[] {false, true}) {
            for (boolean dropoutInput : new boolean[] {false, true}) {
                Tensor w = fif ? rand(in, out) : rand(out, in);
                Tensor x = rand(N, in), xd = rand(N, in), b = rand(out), a = rand(r, in), bb = rand(out, r), m = rand(out);
                double[] c0 = norms(toDouble(w.data()), fif, toDouble(a.data()), toDouble(bb.data()), s, out, in, r);
                List<Tensor> inputs = dropoutInput ? List.of(x, b, a, bb, m, xd) : List.of(x, b, a, bb, m);
                String name = "dora fanInFanOut=" + fif + " dropout=" + dropoutInput;
                GradCheck.check(name, inputs, (tape, t) -> {
                    Tensor y = MatMul.linear(tape, t.get(0), w, t.get(1), fif);
                    return DoraDelta.addInto(tape, y, t.get(0), dropoutInput ? t.get(5) : t.get(0), w, t.get(1), fif, t.get(2), t.get(3), t.get(4), s);
                }, d -> {
                    double[] W = toDouble(w.data()), X = d[0], bias = d[1], A = d[2], B = d[3], M = d[4], Xd = dropoutInput ? d[5] : d[0];
                    double[] y = new double[N * out];
                    for (int n = 0; n < N; n++) {
                        for (int o = 0; o < out; o++) {
                            double f = M[o] / c0[o], p = 0, pd = 0, l = 0;
                            for (int i = 0; i < in; i++) {
                                double wv = fif ? W[i * out + o] : W[o * in + i];
                                p += X[n * in + i] * wv;
                                pd += Xd[n * in + i] * wv;
                            }
                            for (int k = 0; k < r; k++) {
                                double u = 0;
                                for (int i = 0; i < in; i++) u += Xd[n * in + i] * A[k * in + i];
                                l += u * B[o * r + k];
                            }
                            y[n * out + o] = p + bias[o] + (f - 1) * pd + f * s * l;
                        }
                    }
                    return y;
                }, rnd);
            }
        }
    }

    /** The norm per output row of the (out, in) weight plus s·B·A, in both layouts, and m/c = 1 at m = c. */
    @Test
    void weightNormsArePerOutputRowOfTheOutInWeight() {
        int in = 5, out = 4, r = 2;
        float s = 1.5f;
        Tensor w = rand(out, in), a = rand(r, in), b = rand(out, r);
        float[] wt = new float[in * out];                              // the same weight stored (in, out), as Conv1D
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) wt[i * out + o] = w.data()[o * in + i];
        double[] expected = norms(toDouble(w.data()), false, toDouble(a.data()), toDouble(b.data()), s, out, in, r);
        float[] linear = DoraDelta.weightNorms(w.storage(), false, out, in, a.data(), b.data(), r, s);
        float[] conv1d = DoraDelta.weightNorms(Tensor.of(wt, in, out).storage(), true, out, in, a.data(), b.data(), r, s);
        for (int o = 0; o < out; o++) assertEquals(expected[o], linear[o], 1e-6 * expected[o]);
        assertArrayEquals(linear, conv1d);

        Tensor x = rand(3, in), y = MatMul.linear(Tape.noGrad(), x, w, null, false);
        float[] base = y.data().clone();
        Tensor m = Tensor.of(linear.clone(), out);                   // m = c: DoRA is plain LoRA
        DoraDelta.addInto(Tape.noGrad(), y, x, x, w, null, false, a, b, m, s);
        Tensor lora = MatMul.linear(Tape.noGrad(), MatMul.linear(Tape.noGrad(), x, a, null, false), b, null, false);
        for (int k = 0; k < base.length; k++) assertEquals(base[k] + s * lora.data()[k], y.data()[k], 1e-5);
    }

    @Test
    void aTrainableBaseWeightIsRefused() {
        Tensor w = rand(4, 3).requiresGrad(true), x = rand(2, 3);
        Tape tape = Tape.create();
        Tensor y = MatMul.linear(tape, x, w, null, false);
        assertThrows(IllegalArgumentException.class, () -> DoraDelta.addInto(tape, y, x, x, w, null, false, rand(2, 3), rand(4, 2), rand(4), 1f));
    }

    static double[] norms(double[] w, boolean fif, double[] a, double[] b, double s, int out, int in, int r) {
        double[] c = new double[out];
        for (int o = 0; o < out; o++) {
            double sq = 0;
            for (int i = 0; i < in; i++) {
                double v = fif ? w[i * out + o] : w[o * in + i];
                for (int k = 0; k < r; k++) v += s * b[o * r + k] * a[k * in + i];
                sq += v * v;
            }
            c[o] = Math.sqrt(sq);
        }
        return c;
    }

    private Tensor rand(int... dims) {
        return GradCheck.rand(rnd, dims);
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }
}
