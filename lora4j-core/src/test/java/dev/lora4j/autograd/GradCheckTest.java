package dev.lora4j.autograd;

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
 * Every op's forward against an independent double-precision reference written here, and its backward
 * against central finite differences of that reference (h = 1e-6): for J = Σ r·y with fixed random r,
 * dJ/dinput from the op's backward must match (J(x+h) − J(x−h)) / 2h per element.
 */
class GradCheckTest {
    private final SplittableRandom rnd = new SplittableRandom(42);

    /** The op under test, run on a recording tape. */
    private interface Op extends Function<List<Tensor>, Tensor> {}

    /** The reference forward in double precision on the same inputs. */
    private interface Ref extends Function<double[][], double[]> {}

    @Test
    void linearOutInAndConv1dInOut() {
        int N = 5, in = 7, out = 6;
        for (boolean fif : new boolean[] {false, true}) {
            Tensor x = rand(N, in), w = fif ? rand(in, out) : rand(out, in), b = rand(out);
            check("linear fanInFanOut=" + fif, List.of(x, w, b), t -> MatMul.linear(tape, t.get(0), t.get(1), t.get(2), fif), d -> {
                double[] y = new double[N * out];
                for (int n = 0; n < N; n++)
                    for (int o = 0; o < out; o++) {
                        double s = d[2][o];
                        for (int i = 0; i < in; i++) s += d[0][n * in + i] * (fif ? d[1][i * out + o] : d[1][o * in + i]);
                        y[n * out + o] = s;
                    }
                return y;
            });
        }
    }

    /** LoRA added into the base output in place: y = x·W (+b) + s·(x·Aᵀ)·Bᵀ, every input's gradient, both base layouts. */
    @Test
    void loraDeltaAddedIntoTheBaseOutput() {
        int N = 5, in = 7, out = 6, r = 3;
        float s = 0.7f;
        for (boolean fif : new boolean[] {false, true}) {
            Tensor x = rand(N, in), w = fif ? rand(in, out) : rand(out, in), b = rand(out), a = rand(r, in), bb = rand(out, r);
            check("lora delta fanInFanOut=" + fif, List.of(x, w, b, a, bb),
                    t -> LoraDelta.addInto(tape, MatMul.linear(tape, t.get(0), t.get(1), t.get(2), fif), t.get(0), t.get(3), t.get(4), s), d -> {
                double[] y = new double[N * out];
                for (int n = 0; n < N; n++)
                    for (int o = 0; o < out; o++) {
                        double v = d[2][o];
                        for (int i = 0; i < in; i++) v += d[0][n * in + i] * (fif ? d[1][i * out + o] : d[1][o * in + i]);
                        for (int k = 0; k < r; k++) {
                            double u = 0;
                            for (int i = 0; i < in; i++) u += d[0][n * in + i] * d[3][k * in + i];
                            v += s * u * d[4][o * r + k];
                        }
                        y[n * out + o] = v;
                    }
                return y;
            });
        }
    }

    @Test
    void frozenWeightGetsNoGradientAndNoBackwardWhenNothingIsTrainable() {
        Tensor x = rand(3, 4).requiresGrad(true), w = rand(5, 4).requiresGrad(false);
        Tape t = Tape.create();
        Tensor y = MatMul.linear(t, x, w, null, false);
        Tensor loss = CrossEntropy.apply(t, y, new int[] {0, 1, 2});
        t.backward(loss);
        assertNull(w.gradOrNull(), "frozen weight must not get a gradient buffer");
        assertTrue(x.gradOrNull() != null);
        Tape t2 = Tape.create();
        x.requiresGrad(false);
        MatMul.linear(t2, x, w, null, false);
        assertEquals(0, t2.size(), "no input requires a gradient: nothing recorded");
    }

    @Test
    void embedding() {
        int V = 6, C = 4;
        int[] ids = {3, 0, 3, 5};
        Tensor w = rand(V, C);
        check("embedding", List.of(w), t -> Embedding.apply(tape, t.get(0), ids), d -> {
            double[] y = new double[ids.length * C];
            for (int i = 0; i < ids.length; i++) System.arraycopy(d[0], ids[i] * C, y, i * C, C);
            return y;
        });
    }

    @Test
    void addLayerNormGelu() {
        Tensor a = rand(3, 5), b = rand(3, 5);
        check("add", List.of(a, b), t -> Add.apply(tape, t.get(0), t.get(1)), d -> {
            double[] y = new double[15];
            for (int i = 0; i < 15; i++) y[i] = d[0][i] + d[1][i];
            return y;
        });
        int N = 4, C = 9;
        Tensor x = rand(N, C), g = rand(C), beta = rand(C);
        check("layernorm", List.of(x, g, beta), t -> LayerNorm.apply(tape, t.get(0), t.get(1), t.get(2), 1e-5f), d -> {
            double[] y = new double[N * C];
            for (int n = 0; n < N; n++) {
                double m = 0, v = 0;
                for (int c = 0; c < C; c++) m += d[0][n * C + c] / C;
                for (int c = 0; c < C; c++) v += Math.pow(d[0][n * C + c] - m, 2) / C;
                for (int c = 0; c < C; c++) y[n * C + c] = (d[0][n * C + c] - m) / Math.sqrt(v + 1e-5) * d[1][c] + d[2][c];
            }
            return y;
        });
        Tensor z = rand(2, 11);
        for (int i = 0; i < z.size(); i++) z.data()[i] *= 3f;
        check("gelu", List.of(z), t -> Gelu.apply(tape, t.get(0)), d -> {
            double[] y = new double[d[0].length];
            for (int i = 0; i < y.length; i++) {
                double v = d[0][i];
                y[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
            return y;
        });
    }

    @Test
    void dropoutKeepsSeededMask() {
        Tensor x = rand(4, 8);
        float[] mask = Dropout.mask(32, 0.25f, 99);
        check("dropout", List.of(x), t -> Dropout.apply(tape, t.get(0), 0.25f, 99), d -> {
            double[] y = new double[32];
            for (int i = 0; i < 32; i++) y[i] = d[0][i] * mask[i];
            return y;
        });
        int zeros = 0;
        for (float m : Dropout.mask(10000, 0.25f, 1)) if (m == 0f) zeros++;
        assertTrue(zeros > 2300 && zeros < 2700, "about a quarter dropped, got " + zeros);
    }

    @Test
    void causalSelfAttention() {
        int B = 2, T = 5, NH = 2, HS = 3, C = NH * HS;
        for (float p : new float[] {0f, 0.3f}) {
            Tensor qkv = rand(B, T, 3 * C);
            float[] mask = p > 0 ? Dropout.mask(B * NH * T * T, p, 5) : null;
            check("attention dropout=" + p, List.of(qkv), t -> CausalSelfAttention.apply(tape, t.get(0), B, T, NH, p, 5), d -> {
                double[] y = new double[B * T * C];
                double[] X = d[0];
                for (int b = 0; b < B; b++)
                    for (int h = 0; h < NH; h++)
                        for (int i = 0; i < T; i++) {
                            double[] s = new double[i + 1];
                            double max = Double.NEGATIVE_INFINITY, sum = 0;
                            for (int j = 0; j <= i; j++) {
                                double dot = 0;
                                for (int e = 0; e < HS; e++)
                                    dot += X[(b * T + i) * 3 * C + h * HS + e] * X[(b * T + j) * 3 * C + C + h * HS + e];
                                s[j] = dot / Math.sqrt(HS);
                                max = Math.max(max, s[j]);
                            }
                            for (int j = 0; j <= i; j++) sum += (s[j] = Math.exp(s[j] - max));
                            for (int j = 0; j <= i; j++) {
                                double pj = s[j] / sum * (mask == null ? 1 : mask[((b * NH + h) * T + i) * T + j]);
                                for (int e = 0; e < HS; e++)
                                    y[(b * T + i) * C + h * HS + e] += pj * X[(b * T + j) * 3 * C + 2 * C + h * HS + e];
                            }
                        }
                return y;
            });
        }
    }

    @Test
    void crossEntropyWithIgnoredTargets() {
        int N = 5, V = 7;
        int[] targets = {3, CrossEntropy.IGNORE_INDEX, 0, 6, CrossEntropy.IGNORE_INDEX};
        Tensor logits = rand(N, V);
        check("cross-entropy", List.of(logits), t -> CrossEntropy.apply(tape, t.get(0), targets), d -> {
            double total = 0;
            int count = 0;
            for (int n = 0; n < N; n++) {
                if (targets[n] == CrossEntropy.IGNORE_INDEX) continue;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < V; v++) max = Math.max(max, d[0][n * V + v]);
                for (int v = 0; v < V; v++) sum += Math.exp(d[0][n * V + v] - max);
                total += max + Math.log(sum) - d[0][n * V + targets[n]];
                count++;
            }
            return new double[] {total / count};
        });
    }

    @Test
    void fusedHeadAndCrossEntropy() {
        int N = 5, C = 4, V = 9;
        int[] targets = {3, CrossEntropy.IGNORE_INDEX, 0, 8, 2};
        Tensor x = rand(N, C), w = rand(V, C);
        check("lm head loss", List.of(x, w), t -> LmHeadLoss.apply(tape, t.get(0), t.get(1), targets), d -> {
            double total = 0;
            int count = 0;
            for (int n = 0; n < N; n++) {
                if (targets[n] == CrossEntropy.IGNORE_INDEX) continue;
                double[] l = new double[V];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < V; v++) {
                    for (int c = 0; c < C; c++) l[v] += d[0][n * C + c] * d[1][v * C + c];
                    max = Math.max(max, l[v]);
                }
                for (int v = 0; v < V; v++) sum += Math.exp(l[v] - max);
                total += max + Math.log(sum) - l[targets[n]];
                count++;
            }
            return new double[] {total / count};
        });
    }

    private Tape tape;

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
