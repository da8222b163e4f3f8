package dev.lora4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.tensor.WeightStorage;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The row-by-row products that batched decoding uses ({@link Gemm#rowsAbt}, {@link Gemm#rowsAb}): every row of C has
 * exactly the bits of the one-row product of that row alone ({@link Gemm#abt}, {@link Gemm#ab} with m = 1), over
 * sizes with odd tails, outputs wide enough to be cut into column blocks, float32 and bfloat16 weights, strided and
 * accumulating. Close to a double-precision reference too, so that the equality is not between two wrong results.
 */
class RowwiseGemmTest {
    private static final int[] ROWS = {1, 2, 3, 7, 16};
    private static final int[] COLS = {1, 7, 17, 64, 255, 256, 300, 1023};
    private static final int[] DEPTH = {1, 15, 33, 300};

    private interface Product {
        void run(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int m, int n, int k, boolean acc);
    }

    @Test
    void rowsAbtEqualsOneRowProductsBitForBit() {
        check((c, cOff, ldc, a, aOff, lda, b, m, n, k, acc) -> Gemm.rowsAbt(c, cOff, ldc, a, aOff, lda, b, 0, k, m, n, k, acc),
                (c, cOff, ldc, a, aOff, lda, b, m, n, k, acc) -> Gemm.abt(c, cOff, ldc, a, aOff, lda, b, 0, k, m, n, k, acc), true);
    }

    @Test
    void rowsAbEqualsOneRowProductsBitForBit() {
        check((c, cOff, ldc, a, aOff, lda, b, m, n, k, acc) -> Gemm.rowsAb(c, cOff, ldc, a, aOff, lda, b, 0, n, m, n, k, acc),
                (c, cOff, ldc, a, aOff, lda, b, m, n, k, acc) -> Gemm.ab(c, cOff, ldc, a, aOff, lda, b, 0, n, m, n, k, acc), false);
    }

    private static void check(Product rows, Product single, boolean transposed) {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int m : ROWS) {
            for (int n : COLS) {
                for (int k : DEPTH) {
                    boolean acc = ((m + n + k) & 1) == 1;
                    int lda = k + 3, ldc = n + 2;
                    float[] a = random(rnd, m * lda), b = random(rnd, n * k), c0 = random(rnd, m * ldc + 5);
                    for (WeightStorage w : new WeightStorage[] {new WeightStorage.F32(b), WeightStorage.Bf16.of(b)}) {
                        float[] got = c0.clone(), want = c0.clone();
                        rows.run(got, 5, ldc, a, 0, lda, w, m, n, k, acc);
                        for (int i = 0; i < m; i++) single.run(want, 5 + i * ldc, ldc, a, i * lda, lda, w, 1, n, k, acc);
                        String what = "m=" + m + " n=" + n + " k=" + k + " " + w.getClass().getSimpleName();
                        assertArrayEquals(want, got, what);
                        float[] wide = new float[b.length];
                        w.widen(0, wide, 0, b.length);
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                double s = acc ? c0[5 + i * ldc + j] : 0;
                                for (int p = 0; p < k; p++) s += (double) a[i * lda + p] * (transposed ? wide[j * k + p] : wide[p * n + j]);
                                assertTrue(Math.abs(got[5 + i * ldc + j] - s) <= 1e-4 * (1 + Math.abs(s)), what + " (" + i + ", " + j + ")");
                            }
                        }
                    }
                }
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
