package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.Workspace;
import dev.lora4j.testing.GradCheck;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The attention ops that recompute their probabilities tile by tile in the backward ({@link AttentionHead}): the same
 * outputs and gradients as the ops that kept P (B, NH, T, T) ({@link StoredProbabilityAttention}), within float32
 * summation order, over sequences of several tiles (one, exactly one, one and a row, many), GQA groups, sliding windows
 * narrower and wider than a tile and GPT-2's packed qkv with dropout; central finite differences over several tiles;
 * and the memory they keep: nothing of T × T size.
 */
class TiledAttentionTest {
    private final SplittableRandom rnd = new SplittableRandom(11);

    @Test
    void groupedQueryAttentionMatchesTheStoredProbabilities() {
        int ROWS = AttentionHead.ROWS;
        int[][] tHeadsKvWindow = {{1, 2, 1, 0}, {ROWS - 1, 4, 2, 0}, {ROWS, 4, 2, 0}, {ROWS + 1, 4, 1, 0}, {3 * ROWS + 7, 4, 2, 0},
                {3 * ROWS + 7, 4, 2, 17}, {3 * ROWS + 7, 2, 2, ROWS + 9}, {2 * ROWS + 3, 6, 3, 2 * ROWS}};
        for (int[] c : tHeadsKvWindow) {
            int B = 2, T = c[0], NH = c[1], NKV = c[2], W = c[3], HD = 8;
            Tensor q = rand(B * T, NH * HD), k = rand(B * T, NKV * HD), v = rand(B * T, NKV * HD);
            compare("gqa T=" + T + " NH=" + NH + " NKV=" + NKV + " window=" + W, List.of(q, k, v),
                    (tape, in) -> GroupedQueryAttention.apply(tape, in.get(0), in.get(1), in.get(2), B, T, NH, NKV, W),
                    (tape, in) -> StoredProbabilityAttention.gqa(tape, in.get(0), in.get(1), in.get(2), B, T, NH, NKV, W));
        }
    }

    @Test
    void packedCausalAttentionMatchesTheStoredProbabilitiesWithAndWithoutDropout() {
        for (float p : new float[] {0f, 0.2f}) {
            for (int T : new int[] {5, 2 * AttentionHead.ROWS + 11}) {
                int B = 2, NH = 3, HS = 8, C = NH * HS;
                Tensor qkv = rand(B, T, 3 * C);
                compare("gpt-2 attention T=" + T + " dropout=" + p, List.of(qkv),
                        (tape, in) -> CausalSelfAttention.apply(tape, in.get(0), B, T, NH, p, 1234),
                        (tape, in) -> StoredProbabilityAttention.causal(tape, in.get(0), B, T, NH, p, 1234));
            }
        }
    }

    @Test
    void finiteDifferencesOverSeveralTiles() {
        int B = 1, T = AttentionHead.ROWS + 6, NH = 2, HD = 2;
        for (int W : new int[] {0, 9}) {
            Tensor q = rand(B * T, NH * HD), k = rand(B * T, HD), v = rand(B * T, HD);
            GradCheck.check("gqa over two tiles, window " + W, List.of(q, k, v),
                    (tape, in) -> GroupedQueryAttention.apply(tape, in.get(0), in.get(1), in.get(2), B, T, NH, 1, W),
                    d -> reference(d[0], NH * HD, 0, d[1], HD, 0, d[2], HD, 0, B, T, NH, 1, HD, W, j -> 1.0), rnd);
        }
        int C = NH * HD;
        float p = 0.25f;
        Tensor qkv = rand(B, T, 3 * C);
        GradCheck.check("gpt-2 attention over two tiles with dropout", List.of(qkv),
                (tape, in) -> CausalSelfAttention.apply(tape, in.get(0), B, T, NH, p, 77),
                d -> reference(d[0], 3 * C, 0, d[0], 3 * C, C, d[0], 3 * C, 2 * C, B, T, NH, NH, HD, 0,
                        e -> (double) Dropout.maskAt(77, e, p)), rnd);
    }

    @Test
    void keepsNothingOfSizeTTimesT() {
        int B = 1, T = 1024, NH = 4, NKV = 2, HD = 8;
        Tensor q = rand(B * T, NH * HD).requiresGrad(true), k = rand(B * T, NKV * HD).requiresGrad(true), v = rand(B * T, NKV * HD).requiresGrad(true);
        Tensor qkv = rand(B, T, 3 * NH * HD).requiresGrad(true);
        long tt = 4L * B * NH * T * T;
        try (Workspace ws = Workspace.open()) {
            Tape tape = Tape.create();
            Tensor out = GroupedQueryAttention.apply(tape, q, k, v, B, T, NH, NKV, 0);
            tape.backward(out, new float[out.size()]);
            out = CausalSelfAttention.apply(tape, qkv, B, T, NH, 0.1f, 3);
            tape.backward(out, new float[out.size()]);
            long kept = Workspace.allocatedBytes();
            assertTrue(kept < tt / 16, "the ops took " + kept + " bytes from the workspace; one (B, NH, T, T) is " + tt);
        }
    }

    @Test
    void maskElementsAreTheSequentialMasksElements() {
        float[] mask = Dropout.mask(5000, 0.3f, -42);
        SplittableRandom r = new SplittableRandom(-42);
        for (int i = 0; i < mask.length; i++) {
            assertEquals(r.nextDouble() < 0.3f ? 0f : 1f / (1f - 0.3f), mask[i], "element " + i);
            assertEquals(mask[i], Dropout.maskAt(-42, i, 0.3f), "element " + i);
        }
    }

    /** Runs both ops on copies of the inputs with the same output gradient; outputs and input gradients agree. */
    private void compare(String name, List<Tensor> inputs, Op tiled, Op stored) {
        float[][][] results = new float[2][][];
        for (int pass = 0; pass < 2; pass++) {
            for (Tensor t : inputs) t.requiresGrad(true).clearGrad();
            Tape tape = Tape.create();
            Tensor y = (pass == 0 ? tiled : stored).apply(tape, inputs);
            float[] dy = new float[y.size()];
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < dy.length; i++) dy[i] = (float) (r.nextDouble() * 2 - 1);
            float[] out = y.data().clone();
            tape.backward(y, dy);
            results[pass] = new float[inputs.size() + 1][];
            results[pass][0] = out;
            for (int i = 0; i < inputs.size(); i++) results[pass][i + 1] = inputs.get(i).grad().clone();
        }
        for (int i = 0; i < results[0].length; i++) {
            float[] a = results[0][i], b = results[1][i];
            double scale = 0, err = 0;
            for (int e = 0; e < a.length; e++) {
                scale = Math.max(scale, Math.abs(b[e]));
                err = Math.max(err, Math.abs(a[e] - b[e]));
            }
            assertTrue(err <= 2e-6 * Math.max(1, scale), name + ": " + (i == 0 ? "output" : "gradient of input " + (i - 1))
                    + " differs by " + err + " (largest " + scale + ")");
        }
    }

    /**
     * Causal attention in double over matrices inside arrays (offset, leading dimension), kv head h / (NH/NKV), keys
     * [max(0, i − W + 1), i] (all up to i when W = 0); {@code mask} gives the dropout factor of element (bh·T + i)·T + j.
     */
    private static double[] reference(double[] q, int ldq, int qo, double[] k, int ldk, int ko, double[] v, int ldv, int vo, int B, int T,
                                      int NH, int NKV, int HD, int W, Function<Long, Double> mask) {
        double[] y = new double[B * T * NH * HD];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                int g = h / (NH / NKV);
                for (int i = 0; i < T; i++) {
                    int lo = W > 0 ? Math.max(0, i - W + 1) : 0;
                    double[] s = new double[T];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = lo; j <= i; j++) {
                        for (int e = 0; e < HD; e++) s[j] += q[(b * T + i) * ldq + qo + h * HD + e] * k[(b * T + j) * ldk + ko + g * HD + e];
                        s[j] /= Math.sqrt(HD);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = lo; j <= i; j++) sum += (s[j] = Math.exp(s[j] - max));
                    for (int j = lo; j <= i; j++) {
                        double pj = s[j] / sum * mask.apply(((long) (b * NH + h) * T + i) * T + j);
                        for (int e = 0; e < HD; e++) y[((b * T + i) * NH + h) * HD + e] += pj * v[(b * T + j) * ldv + vo + g * HD + e];
                    }
                }
            }
        return y;
    }

    private interface Op {
        Tensor apply(Tape tape, List<Tensor> inputs);
    }

    private Tensor rand(int... dims) {
        return GradCheck.rand(rnd, dims);
    }
}
