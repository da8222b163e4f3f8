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
import dev.lora4j.kernels.ScalarKernels;
import dev.lora4j.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import dev.lora4j.testing.GradCheck;
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
        for (double z = -7; z <= 7; z += 0.01) assertEquals(GeluErf.erf(z), ScalarKernels.erf(z), 2e-7, "fast erf(" + z + ")");
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
        GradCheck.check(name, inputs, (t, in) -> {
            tape = t;
            return op.apply(in);
        }, ref, rnd);
    }

    private Tensor rand(int... dims) {
        return GradCheck.rand(rnd, dims);
    }
}
