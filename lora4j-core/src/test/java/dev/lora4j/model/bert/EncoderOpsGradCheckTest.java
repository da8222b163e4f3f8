package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.GeluErf;
import dev.lora4j.autograd.MaskedSelfAttention;
import dev.lora4j.autograd.TakeRows;
import dev.lora4j.autograd.Tanh;
import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The encoder's ops (exact GELU, masked bidirectional attention, tanh, row gather): forward against a double
 * reference written here, backward against central finite differences of it (J = Σ r·y for fixed random r).
 */
class EncoderOpsGradCheckTest {
    private final SplittableRandom rnd = new SplittableRandom(11);
    private Tape tape;

    @Test
    void erfMatchesKnownValues() {
        double[][] known = {{0.0, 0.0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
                {2.0, 0.9953222650189527}, {2.5, 0.999593047982555}, {2.9, 0.9999589021219005}, {3.0, 0.9999779095030014}, {3.5, 0.9999992569016276},
                {4.0, 0.9999999845827421}, {-1.5, -0.9661051464753108}, {7.0, 1.0}};
        for (double[] k : known) assertEquals(k[1], GeluErf.erf(k[0]), 1e-15, "erf(" + k[0] + ")");
        for (double z = -7; z <= 7; z += 0.01) assertEquals(GeluErf.erf(z), GeluErf.fastErf(z), 2e-7, "fast erf(" + z + ")");
    }

    @Test
    void exactGeluTanhAndRowGather() {
        Tensor x = rand(4, 9);
        for (int i = 0; i < 9; i++) x.data()[i] = (float) (i - 4) * 1.1f;   // tails and zero
        check("gelu (erf)", List.of(x), t -> GeluErf.apply(tape, t.get(0)), d -> {
            double[] y = new double[d[0].length];
            for (int i = 0; i < y.length; i++) y[i] = 0.5 * d[0][i] * (1 + GeluErf.erf(d[0][i] / Math.sqrt(2)));
            return y;
        });
        check("tanh", List.of(rand(3, 5)), t -> Tanh.apply(tape, t.get(0)), d -> {
            double[] y = new double[d[0].length];
            for (int i = 0; i < y.length; i++) y[i] = Math.tanh(d[0][i]);
            return y;
        });
        int[] rows = {2, 0, 2};
        check("take rows", List.of(rand(4, 3)), t -> TakeRows.apply(tape, t.get(0), rows), d -> {
            double[] y = new double[rows.length * 3];
            for (int i = 0; i < rows.length; i++) System.arraycopy(d[0], rows[i] * 3, y, i * 3, 3);
            return y;
        });
    }

    @Test
    void maskedAttentionGivesPaddedKeysNoWeight() {
        int B = 2, T = 4, NH = 2, C = 6, HS = C / NH;
        int[] mask = {1, 1, 1, 1, 1, 1, 0, 0};
        check("masked attention", List.of(rand(B * T, C), rand(B * T, C), rand(B * T, C)),
                t -> MaskedSelfAttention.apply(tape, t.get(0), t.get(1), t.get(2), mask, B, T, NH, 0f, 0), d -> {
            double[] y = new double[B * T * C];
            for (int b = 0; b < B; b++)
                for (int h = 0; h < NH; h++)
                    for (int i = 0; i < T; i++) {
                        double[] s = new double[T];
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int j = 0; j < T; j++) {
                            if (mask[b * T + j] == 0) continue;
                            for (int e = 0; e < HS; e++) s[j] += d[0][(b * T + i) * C + h * HS + e] * d[1][(b * T + j) * C + h * HS + e];
                            s[j] /= Math.sqrt(HS);
                            max = Math.max(max, s[j]);
                        }
                        for (int j = 0; j < T; j++) sum += mask[b * T + j] == 0 ? 0 : Math.exp(s[j] - max);
                        for (int j = 0; j < T; j++) {
                            if (mask[b * T + j] == 0) continue;
                            double pr = Math.exp(s[j] - max) / sum;
                            for (int e = 0; e < HS; e++) y[(b * T + i) * C + h * HS + e] += pr * d[2][(b * T + j) * C + h * HS + e];
                        }
                    }
            return y;
        });
    }

    @Test
    void attentionComputesOnlyTheGradientsThatAreNeeded() {
        Tensor q = rand(4, 4).requiresGrad(true), k = rand(4, 4), v = rand(4, 4).requiresGrad(true);
        Tape t = Tape.create();
        Tensor y = MaskedSelfAttention.apply(t, q, k, v, new int[] {1, 1, 1, 0}, 1, 4, 2, 0f, 0);
        t.backward(y, new float[16]);
        assertNull(k.gradOrNull(), "a frozen key path gets no gradient buffer");
        assertTrue(q.gradOrNull() != null && v.gradOrNull() != null);
        assertThrows(IllegalArgumentException.class,
                () -> MaskedSelfAttention.apply(Tape.noGrad(), q, k, v, new int[] {0, 0, 0, 0}, 1, 4, 2, 0f, 0));
    }

    /** The op under test on a recording tape, and the reference forward in double precision. */
    private void check(String name, List<Tensor> inputs, Function<List<Tensor>, Tensor> op, Function<double[][], double[]> ref) {
        for (Tensor t : inputs) t.requiresGrad(true).clearGrad();
        tape = Tape.create();
        Tensor y = op.apply(inputs);
        double[][] d = new double[inputs.size()][];
        for (int i = 0; i < d.length; i++) d[i] = toDouble(inputs.get(i).data());
        double[] yRef = ref.apply(d);
        for (int i = 0; i < yRef.length; i++) assertEquals(yRef[i], y.data()[i], 1e-5 * (1 + Math.abs(yRef[i])), name + ": y[" + i + "]");
        double[] r = new double[y.size()];
        float[] dy = new float[r.length];
        for (int i = 0; i < r.length; i++) dy[i] = (float) (r[i] = rnd.nextDouble() * 2 - 1);
        tape.backward(y, dy);
        double h = 1e-6;
        for (int in = 0; in < inputs.size(); in++) {
            float[] g = inputs.get(in).grad();
            double maxErr = 0, maxRef = 0;
            for (int e = 0; e < d[in].length; e++) {
                double keep = d[in][e];
                d[in][e] = keep + h;
                double jp = dot(ref.apply(d), r);
                d[in][e] = keep - h;
                double jm = dot(ref.apply(d), r);
                d[in][e] = keep;
                double fd = (jp - jm) / (2 * h);
                maxErr = Math.max(maxErr, Math.abs(fd - g[e]));
                maxRef = Math.max(maxRef, Math.abs(fd));
            }
            assertTrue(maxErr <= 1e-4 * Math.max(1, maxRef), name + ": input " + in + " max |fd − backward| = " + maxErr);
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    private Tensor rand(int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (float) (rnd.nextDouble() * 2 - 1);
        return t;
    }
}
