package dev.lora4j.kernels;

import dev.lora4j.tensor.WeightStorage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The chosen kernels (Vector API when the module is present) against the scalar reference, and both
 * against a double-precision triple loop, over many sizes with odd tails, strided (leading dimension
 * larger than the width) and accumulating. Runs once with and once without the Vector API module.
 */
class KernelParityTest {
    private static final int[] SIZES = {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 67};
    private final Kernels scalar = new ScalarKernels();
    private final Kernels chosen = KernelProvider.get();

    private interface GemmCall {
        void run(Kernels k, float[] c, int ldc, float[] a, int lda, float[] b, int ldb, int m, int n, int kk, boolean acc);
    }

    /** Reference element A(i,p)·B(j or p) in double precision for each GEMM form. */
    private interface Ref {
        double at(float[] a, int lda, float[] b, int ldb, int i, int j, int p);
    }

    @Test
    void selectedImplementationMatchesTheModulePresence() {
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertEquals(vectorModule, chosen.name().startsWith("panama"), chosen.name());
    }

    @Test
    void gemmABt() {
        check((k, c, ldc, a, lda, b, ldb, m, n, kk, acc) -> k.gemmABt(c, 3, ldc, a, 2, lda, b, 1, ldb, m, n, kk, acc),
                (a, lda, b, ldb, i, j, p) -> (double) a[2 + i * lda + p] * b[1 + j * ldb + p], false);
    }

    @Test
    void gemmAB() {
        check((k, c, ldc, a, lda, b, ldb, m, n, kk, acc) -> k.gemmAB(c, 3, ldc, a, 2, lda, b, 1, ldb, m, n, kk, acc),
                (a, lda, b, ldb, i, j, p) -> (double) a[2 + i * lda + p] * b[1 + p * ldb + j], false);
    }

    @Test
    void gemmAtB() {
        check((k, c, ldc, a, lda, b, ldb, m, n, kk, acc) -> k.gemmAtB(c, 3, ldc, a, 2, lda, b, 1, ldb, m, n, kk, acc),
                (a, lda, b, ldb, i, j, p) -> (double) a[2 + p * lda + i] * b[1 + p * ldb + j], true);
    }

    private void check(GemmCall call, Ref ref, boolean aTransposed) {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int m : SIZES) {
            for (int n : SIZES) {
                for (int kk : new int[] {1, 5, 16, 33, 100, 300}) {             // 300: two KC panels
                    boolean acc = ((m + n + kk) & 1) == 0;
                    int lda = (aTransposed ? m : kk) + 3, ldb = Math.max(n, kk) + 5, ldc = n + 2;
                    float[] a = random(rnd, 2 + lda * Math.max(m, kk) + 8);
                    float[] b = random(rnd, 1 + ldb * Math.max(n, kk) + 8);
                    float[] c0 = random(rnd, 3 + ldc * m + 4);
                    float[] cs = c0.clone(), cv = c0.clone();
                    call.run(scalar, cs, ldc, a, lda, b, ldb, m, n, kk, acc);
                    call.run(chosen, cv, ldc, a, lda, b, ldb, m, n, kk, acc);
                    for (int idx = 0; idx < c0.length; idx++) {
                        int rel = idx - 3, i = rel / ldc, j = rel % ldc;
                        boolean inside = rel >= 0 && i < m && j < n;
                        if (!inside) {
                            assertEquals(c0[idx], cv[idx], "wrote outside C at " + idx);
                            assertEquals(c0[idx], cs[idx], "scalar wrote outside C at " + idx);
                            continue;
                        }
                        double expect = acc ? c0[idx] : 0;
                        double mag = Math.abs(expect);
                        for (int p = 0; p < kk; p++) {
                            double t = ref.at(a, lda, b, ldb, i, j, p);
                            expect += t;
                            mag += Math.abs(t);
                        }
                        double tol = 1e-6 * mag + 1e-7;
                        String where = "m=" + m + " n=" + n + " k=" + kk + " (" + i + "," + j + ")";
                        assertTrue(Math.abs(cs[idx] - expect) <= tol, "scalar " + where + ": " + cs[idx] + " vs " + expect);
                        assertTrue(Math.abs(cv[idx] - expect) <= tol, chosen.name() + " " + where + ": " + cv[idx] + " vs " + expect);
                    }
                }
            }
        }
    }

    @Test
    void dotAndAxpy() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int n : new int[] {0, 1, 3, 7, 15, 17, 31, 32, 33, 1023, 4097}) {
            float[] x = random(rnd, n + 3), y = random(rnd, n + 5);
            double expect = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                expect += (double) x[3 + i] * y[5 + i];
                mag += Math.abs((double) x[3 + i] * y[5 + i]);
            }
            assertEquals(expect, chosen.dot(x, 3, y, 5, n), 1e-6 * mag + 1e-7, "dot n=" + n);
            assertEquals(expect, scalar.dot(x, 3, y, 5, n), 1e-6 * mag + 1e-7, "scalar dot n=" + n);
            float[] ys = y.clone(), yv = y.clone();
            scalar.axpy(ys, 5, 0.37f, x, 3, n);
            chosen.axpy(yv, 5, 0.37f, x, 3, n);
            for (int i = 0; i < y.length; i++) {
                double e = i >= 5 ? y[i] + 0.37 * x[i - 2] : y[i];
                assertEquals(e, ys[i], 1e-6, "scalar axpy n=" + n + " i=" + i);
                assertEquals(e, yv[i], 1e-6, "axpy n=" + n + " i=" + i);
            }
        }
    }

    @Test
    void maxExpAndScale() {
        SplittableRandom rnd = new SplittableRandom(13);
        for (int n : new int[] {1, 3, 7, 15, 17, 31, 1023, 4097}) {
            float[] x = random(rnd, n + 2);
            for (int i = 0; i < x.length; i++) x[i] *= 20;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) max = Math.max(max, x[2 + i]);
            assertEquals(max, chosen.max(x, 2, n), 0.0, "max n=" + n);
            assertEquals(max, scalar.max(x, 2, n), 0.0, "scalar max n=" + n);
            float[] e = x.clone(), es = x.clone();
            float sum = chosen.expShiftSum(e, 2, n, (float) max), sums = scalar.expShiftSum(es, 2, n, (float) max);
            double ref = 0;
            for (int i = 0; i < n; i++) {
                double v = Math.exp(x[2 + i] - max);
                ref += v;
                assertEquals(v, e[2 + i], 2e-7 * Math.max(1, v) + 1e-30, "exp n=" + n + " i=" + i);
                assertEquals(v, es[2 + i], 2e-7 * Math.max(1, v) + 1e-30, "scalar exp n=" + n + " i=" + i);
            }
            assertEquals(x[0], e[0]);
            assertEquals(ref, sum, 3e-6 * ref, "exp sum n=" + n);
            assertEquals(ref, sums, 1e-6 * ref, "scalar exp sum n=" + n);
            float[] th = new float[n], ths = new float[n];
            for (int i = 0; i < n; i++) x[2 + i] /= 5;
            chosen.tanh(th, 0, x, 2, n);
            scalar.tanh(ths, 0, x, 2, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Math.tanh(x[2 + i]), th[i], 3e-7, "tanh n=" + n + " x=" + x[2 + i]);
                assertEquals(Math.tanh(x[2 + i]), ths[i], 3e-7, "scalar tanh");
            }
            chosen.scale(e, 2, n, 0.5f);
            scalar.scale(es, 2, n, 0.5f);
            for (int i = 0; i < n; i++) assertEquals(es[2 + i], e[2 + i], 2e-7 * Math.abs(es[2 + i]) + 1e-30, "scale");
        }
    }

    /**
     * The exact GELU and its backward against erf in double precision, x from −12 to 12 (both tails), odd tails and
     * offsets; within 1e-6 relative for x ≥ −3, 1e-5 further left (float32 rounds e^(−x²/2 + …)'s argument there: about
     * 2e-6 at x = −6, for values below 1e-7) or 1e-14 absolute (the reference's 1 + erf(x) loses digits where Φ is tiny).
     */
    @Test
    void exactGeluAndItsBackward() {
        SplittableRandom rnd = new SplittableRandom(17);
        for (int n : new int[] {1, 7, 17, 33, 1023, 4097}) {
            float[] x = new float[n + 3], dy = random(rnd, n + 3);
            for (int i = 0; i < x.length; i++) x[i] = (float) (24.0 * i / x.length - 12.0);
            x[3] = 0f;
            for (Kernels k : new Kernels[] {scalar, chosen}) {
                float[] y = new float[n + 1], dx = random(new SplittableRandom(n), n + 3), dx0 = dx.clone();
                k.geluErf(y, 1, x, 3, n);
                k.geluErfBackward(dx, dy, x, 3, n);
                for (int i = 0; i < n; i++) {
                    double v = x[3 + i], cdf = 0.5 * (1 + dev.lora4j.autograd.GeluErf.erf(v / Math.sqrt(2)));
                    assertEquals(v * cdf, y[1 + i], (v < -3 ? 1e-5 : 1e-6) * Math.abs(v * cdf) + 1e-14, k.name() + " gelu(" + v + ") n=" + n);
                    double d = cdf + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
                    assertEquals(dx0[3 + i] + dy[3 + i] * d, dx[3 + i], 1e-6 * (Math.abs(dx0[3 + i]) + Math.abs(dy[3 + i])),
                            k.name() + " gelu'(" + v + ") n=" + n);
                }
                assertEquals(dx0[2], dx[2], k.name() + " left of the run");
            }
        }
    }

    /**
     * The bfloat16-B forms equal, bit for bit, the float32 forms on B widened: widening is exact and the products
     * run in the same order. Over the size grid with offsets and strides, in every implementation, and through
     * {@link Gemm}'s parallel split (including the thin-C path, n below a register tile).
     */
    @Test
    void compactWeightsGiveExactlyTheWidenedFloatProduct() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (Kernels k : new Kernels[] {scalar, chosen}) {
            for (int m : SIZES) {
                for (int n : SIZES) {
                    int kk = 3 + (m * 7 + n) % 40, lda = kk + 3, ldb = Math.max(n, kk) + 5, ldc = n + 2;
                    boolean acc = ((m + n) & 1) == 0;
                    float[] a = random(rnd, 2 + lda * m + 8), c0 = random(rnd, 3 + ldc * m + 4);
                    short[] h = bf16(random(rnd, 1 + ldb * Math.max(n, kk) + 8));
                    float[] w = widen(h);
                    float[] c1 = c0.clone(), c2 = c0.clone();
                    k.gemmABt(c1, 3, ldc, a, 2, lda, w, 1, ldb, m, n, kk, acc);
                    k.gemmABt(c2, 3, ldc, a, 2, lda, new WeightStorage.Bf16(h), 1, ldb, m, n, kk, acc);
                    assertArrayEquals(c1, c2, k.name() + " ABt m=" + m + " n=" + n);
                    float[] c3 = c0.clone();
                    k.gemmABt(c3, 3, ldc, a, 2, lda, new WeightStorage.F32(w), 1, ldb, m, n, kk, acc);
                    assertArrayEquals(c1, c3, k.name() + " ABt through F32 storage m=" + m + " n=" + n);
                    c1 = c0.clone();
                    c2 = c0.clone();
                    c3 = c0.clone();
                    k.gemmAB(c1, 3, ldc, a, 2, lda, w, 1, ldb, m, n, kk, acc);
                    k.gemmAB(c2, 3, ldc, a, 2, lda, new WeightStorage.Bf16(h), 1, ldb, m, n, kk, acc);
                    k.gemmAB(c3, 3, ldc, a, 2, lda, new WeightStorage.F32(w), 1, ldb, m, n, kk, acc);
                    assertArrayEquals(c1, c2, k.name() + " AB m=" + m + " n=" + n);
                    assertArrayEquals(c1, c3, k.name() + " AB through F32 storage m=" + m + " n=" + n);
                }
            }
        }
        for (int n : new int[] {5, 97, 300}) {
            int m = 130, k = 75;
            float[] a = random(rnd, m * k);
            short[] h = bf16(random(rnd, n * k));
            float[] w = widen(h), c1 = new float[m * n], c2 = new float[m * n];
            Gemm.abt(c1, 0, n, a, 0, k, w, 0, k, m, n, k, false);
            Gemm.abt(c2, 0, n, a, 0, k, new WeightStorage.Bf16(h), 0, k, m, n, k, false);
            assertArrayEquals(c1, c2, "Gemm.abt n=" + n);
            c1 = new float[m * n];
            c2 = new float[m * n];
            Gemm.ab(c1, 0, n, a, 0, k, w, 0, n, m, n, k, false);
            Gemm.ab(c2, 0, n, a, 0, k, new WeightStorage.Bf16(h), 0, n, m, n, k, false);
            assertArrayEquals(c1, c2, "Gemm.ab n=" + n);
        }
    }

    private static short[] bf16(float[] x) {
        short[] h = new short[x.length];
        for (int i = 0; i < x.length; i++) h[i] = dev.lora4j.tensor.BFloat16.fromFloat(x[i]);
        return h;
    }

    private static float[] widen(short[] h) {
        float[] x = new float[h.length];
        for (int i = 0; i < h.length; i++) x[i] = dev.lora4j.tensor.BFloat16.toFloat(h[i]);
        return x;
    }

    @Test
    void parallelGemmMatchesSingleThreadedKernel() {
        SplittableRandom rnd = new SplittableRandom(3);
        int m = 130, n = 97, k = 75;
        float[] a = random(rnd, m * k), b = random(rnd, n * k);
        float[] c1 = new float[m * n], c2 = new float[m * n];
        Gemm.abt(c1, 0, n, a, 0, k, b, 0, k, m, n, k, false);
        chosen.gemmABt(c2, 0, n, a, 0, k, b, 0, k, m, n, k, false);
        for (int i = 0; i < c1.length; i++) assertEquals(c2[i], c1[i], 0f, "element " + i);
        float[] bt = random(rnd, k * n), c3 = new float[m * n], c4 = new float[m * n];
        Gemm.ab(c3, 0, n, a, 0, k, bt, 0, n, m, n, k, false);
        chosen.gemmAB(c4, 0, n, a, 0, k, bt, 0, n, m, n, k, false);
        for (int i = 0; i < c3.length; i++) assertEquals(c4[i], c3[i], 0f, "element " + i);
        float[] at = random(rnd, k * m), c5 = new float[m * n], c6 = new float[m * n];
        Gemm.atb(c5, 0, n, at, 0, m, bt, 0, n, m, n, k, false);
        chosen.gemmAtB(c6, 0, n, at, 0, m, bt, 0, n, m, n, k, false);
        for (int i = 0; i < c5.length; i++) assertEquals(c6[i], c5[i], 0f, "element " + i);
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
