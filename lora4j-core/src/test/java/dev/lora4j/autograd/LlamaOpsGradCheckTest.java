package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

/**
 * The Llama-family ops (RMSNorm, rotary embeddings, SwiGLU, grouped-query attention with and without a
 * sliding window) against independent double-precision references written here, and their backward
 * against central finite differences of those references (h = 1e-6), as GradCheckTest does for GPT-2's ops.
 */
class LlamaOpsGradCheckTest {
    private final SplittableRandom rnd = new SplittableRandom(7);
    private Tape tape;

    private interface Op extends Function<List<Tensor>, Tensor> {}

    private interface Ref extends Function<double[][], double[]> {}

    @Test
    void rmsNorm() {
        int N = 4, C = 9;
        for (float eps : new float[] {1e-6f, 0.5f}) {
            Tensor x = rand(N, C), w = rand(C);
            check("rmsnorm eps=" + eps, List.of(x, w), t -> RmsNorm.apply(tape, t.get(0), t.get(1), eps), d -> {
                double[] y = new double[N * C];
                for (int n = 0; n < N; n++) {
                    double ms = 0;
                    for (int c = 0; c < C; c++) ms += d[0][n * C + c] * d[0][n * C + c] / C;
                    for (int c = 0; c < C; c++) y[n * C + c] = d[1][c] * d[0][n * C + c] / Math.sqrt(ms + eps);
                }
                return y;
            });
        }
    }

    @Test
    void swiGlu() {
        Tensor gate = rand(3, 7), up = rand(3, 7);
        for (int i = 0; i < gate.size(); i++) gate.data()[i] *= 4f;
        check("swiglu", List.of(gate, up), t -> SwiGlu.apply(tape, t.get(0), t.get(1)), d -> {
            double[] y = new double[d[0].length];
            for (int i = 0; i < y.length; i++) y[i] = d[0][i] / (1 + Math.exp(-d[0][i])) * d[1][i];
            return y;
        });
    }

    @Test
    void rotaryEmbeddingRotatesHalves() {
        int B = 2, T = 3, H = 2, HD = 6, half = HD / 2;
        float[] cos = new float[T * half], sin = new float[T * half];
        for (int i = 0; i < cos.length; i++) {
            double angle = rnd.nextDouble() * 6;
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
        Tensor x = rand(B * T, H * HD);
        check("rope", List.of(x), t -> Rope.apply(tape, t.get(0), B, T, H, cos, sin), d -> {
            double[] y = new double[d[0].length];
            for (int r = 0; r < B * T; r++)
                for (int h = 0; h < H; h++)
                    for (int e = 0; e < HD; e++) {   // x·cos + rotate_half(x)·sin, rotate_half(x) = [−x2, x1]
                        int o = r * H * HD + h * HD, a = (r % T) * half + e % half;
                        double rot = e < half ? -d[0][o + e + half] : d[0][o + e - half];
                        y[o + e] = d[0][o + e] * cos[a] + rot * sin[a];
                    }
            return y;
        });
    }

    @Test
    void groupedQueryAttention() {
        int B = 2, T = 6, HD = 3;
        int[][] headsKvWindow = {{4, 2, 0}, {4, 2, 3}, {4, 1, 0}, {2, 2, 2}, {3, 3, 2}, {4, 4, 6}};
        for (int[] c : headsKvWindow) {
            int NH = c[0], NKV = c[1], W = c[2];
            Tensor q = rand(B * T, NH * HD), k = rand(B * T, NKV * HD), v = rand(B * T, NKV * HD);
            check("gqa NH=" + NH + " NKV=" + NKV + " window=" + W, List.of(q, k, v),
                    t -> GroupedQueryAttention.apply(tape, t.get(0), t.get(1), t.get(2), B, T, NH, NKV, W),
                    d -> attentionReference(d[0], d[1], d[2], B, T, NH, NKV, HD, W));
        }
    }

    @Test
    void frozenKeysAndValuesGetNoGradientButQueriesGetTheSameOne() {
        int B = 1, T = 5, NH = 4, NKV = 2, HD = 4;
        Tensor q = rand(B * T, NH * HD), k = rand(B * T, NKV * HD), v = rand(B * T, NKV * HD);
        float[] dy = new float[q.size()];
        for (int i = 0; i < dy.length; i++) dy[i] = (float) (rnd.nextDouble() * 2 - 1);
        float[][] dq = new float[2][];
        for (int pass = 0; pass < 2; pass++) {
            q.requiresGrad(true).clearGrad();
            k.requiresGrad(pass == 0);
            v.requiresGrad(pass == 0);
            Tape t = Tape.create();
            t.backward(GroupedQueryAttention.apply(t, q, k, v, B, T, NH, NKV, 0), dy);
            dq[pass] = q.grad().clone();
        }
        assertNull(k.gradOrNull(), "frozen k gets no gradient buffer");
        assertNull(v.gradOrNull(), "frozen v gets no gradient buffer");
        assertArrayEquals(dq[0], dq[1], 1e-6f);
        q.requiresGrad(false);
        Tape t = Tape.create();
        GroupedQueryAttention.apply(t, q, k, v, B, T, NH, NKV, 0);
        RmsNorm.apply(t, q, rand(NH * HD), 1e-6f);
        SwiGlu.apply(t, q, q);
        Rope.apply(t, q, B, T, NH, new float[T * HD / 2], new float[T * HD / 2]);
        assertEquals(0, t.size(), "nothing requires a gradient: nothing recorded");
    }

    /** softmax(q·kᵀ/√HD) over keys max(0, i − W + 1) .. i (all of 0 .. i when W = 0), times v; query head h reads kv head h / (NH/NKV). */
    private static double[] attentionReference(double[] q, double[] k, double[] v, int B, int T, int NH, int NKV, int HD, int W) {
        double[] y = new double[B * T * NH * HD];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                int g = h / (NH / NKV);
                for (int i = 0; i < T; i++) {
                    int lo = W > 0 ? Math.max(0, i - W + 1) : 0;
                    double[] s = new double[T];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = lo; j <= i; j++) {
                        for (int e = 0; e < HD; e++) s[j] += q[((b * T + i) * NH + h) * HD + e] * k[((b * T + j) * NKV + g) * HD + e];
                        s[j] /= Math.sqrt(HD);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = lo; j <= i; j++) sum += (s[j] = Math.exp(s[j] - max));
                    for (int j = lo; j <= i; j++)
                        for (int e = 0; e < HD; e++) y[((b * T + i) * NH + h) * HD + e] += s[j] / sum * v[((b * T + j) * NKV + g) * HD + e];
                }
            }
        return y;
    }

    private void check(String name, List<Tensor> inputs, Op op, Ref ref) {
        GradCheck.check(name, inputs, (t, in) -> {
            tape = t;
            return op.apply(in);
        }, ref, rnd);
    }

    private Tensor rand(int... dims) {
        return GradCheck.rand(rnd, dims);
    }
}
