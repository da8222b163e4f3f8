package dev.lora4j.kernels.panama;

import dev.lora4j.kernels.Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels} on the Vector API, sized by the preferred species (256-bit by default on x86, 512-bit
 * with -XX:UseAVX=3). Register-blocked: GEMM tiles of 4 rows × 2 vectors (8 accumulators) for A·B and
 * Aᵀ·B, 4 rows × 2 columns of dot products for A·Bᵀ; tails in scalar code. The only package that
 * imports jdk.incubator.vector; loaded by reflection from {@code KernelProvider}.
 */
public final class PanamaKernels implements Kernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    @Override
    public String name() {
        return "panama-" + S.vectorBitSize();
    }

    @Override
    public void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int j = 0;
            for (; j + 2 <= n; j += 2) {
                dots4x2(c, cOff + i * ldc + j, ldc, a, aOff + i * lda, lda, b, bOff + j * ldb, ldb, k, accumulate);
            }
            for (; j < n; j++) {
                for (int r = i; r < i + 4; r++) put(c, cOff + r * ldc + j, dot(a, aOff + r * lda, b, bOff + j * ldb, k), accumulate);
            }
        }
        for (; i < m; i++) {
            for (int j = 0; j < n; j++) put(c, cOff + i * ldc + j, dot(a, aOff + i * lda, b, bOff + j * ldb, k), accumulate);
        }
    }

    private static void put(float[] c, int idx, float v, boolean accumulate) {
        c[idx] = accumulate ? c[idx] + v : v;
    }

    /** C[0..4, 0..2] (+)= A[0..4, :] · B[0..2, :]ᵀ over k. */
    private static void dots4x2(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                int k, boolean accumulate) {
        FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S), s10 = FloatVector.zero(S), s11 = FloatVector.zero(S);
        FloatVector s20 = FloatVector.zero(S), s21 = FloatVector.zero(S), s30 = FloatVector.zero(S), s31 = FloatVector.zero(S);
        int bound = S.loopBound(k), p = 0;
        for (; p < bound; p += L) {
            FloatVector b0 = FloatVector.fromArray(S, b, bOff + p), b1 = FloatVector.fromArray(S, b, bOff + ldb + p);
            FloatVector a0 = FloatVector.fromArray(S, a, aOff + p);
            s00 = a0.fma(b0, s00);
            s01 = a0.fma(b1, s01);
            FloatVector a1 = FloatVector.fromArray(S, a, aOff + lda + p);
            s10 = a1.fma(b0, s10);
            s11 = a1.fma(b1, s11);
            FloatVector a2 = FloatVector.fromArray(S, a, aOff + 2 * lda + p);
            s20 = a2.fma(b0, s20);
            s21 = a2.fma(b1, s21);
            FloatVector a3 = FloatVector.fromArray(S, a, aOff + 3 * lda + p);
            s30 = a3.fma(b0, s30);
            s31 = a3.fma(b1, s31);
        }
        float[] r = {s00.reduceLanes(VectorOperators.ADD), s01.reduceLanes(VectorOperators.ADD),
                s10.reduceLanes(VectorOperators.ADD), s11.reduceLanes(VectorOperators.ADD),
                s20.reduceLanes(VectorOperators.ADD), s21.reduceLanes(VectorOperators.ADD),
                s30.reduceLanes(VectorOperators.ADD), s31.reduceLanes(VectorOperators.ADD)};
        for (; p < k; p++) {
            float b0 = b[bOff + p], b1 = b[bOff + ldb + p];
            for (int row = 0; row < 4; row++) {
                float av = a[aOff + row * lda + p];
                r[2 * row] += av * b0;
                r[2 * row + 1] += av * b1;
            }
        }
        for (int row = 0; row < 4; row++) {
            put(c, cOff + row * ldc, r[2 * row], accumulate);
            put(c, cOff + row * ldc + 1, r[2 * row + 1], accumulate);
        }
    }

    @Override
    public void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       int m, int n, int k, boolean accumulate) {
        gemmStrided(c, cOff, ldc, a, aOff, lda, 1, b, bOff, ldb, m, n, k, accumulate);
    }

    @Override
    public void gemmAtB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        gemmStrided(c, cOff, ldc, a, aOff, 1, lda, b, bOff, ldb, m, n, k, accumulate);
    }

    /** C[i, :] (+)= Σ_p A(i, p) · B[p, :] where A(i, p) = a[aOff + i·aRow + p·aCol]. */
    private void gemmStrided(float[] c, int cOff, int ldc, float[] a, int aOff, int aRow, int aCol,
                                    float[] b, int bOff, int ldb, int m, int n, int k, boolean accumulate) {
        int nv = n / (2 * L) * (2 * L);
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            for (int j = 0; j < nv; j += 2 * L) {
                tile4x2(c, cOff + i * ldc + j, ldc, a, aOff + i * aRow, aRow, aCol, b, bOff + j, ldb, k, accumulate);
            }
            for (int r = i; r < i + 4; r++) rowTail(c, cOff + r * ldc, a, aOff + r * aRow, aCol, b, bOff, ldb, nv, n, k, accumulate);
        }
        for (; i < m; i++) {
            rowTail(c, cOff + i * ldc, a, aOff + i * aRow, aCol, b, bOff, ldb, 0, n, k, accumulate);
        }
    }

    /** C[0..4, 0..2L] (+)= Σ_p A(0..4, p) · B[p, 0..2L]. */
    private static void tile4x2(float[] c, int cOff, int ldc, float[] a, int aOff, int aRow, int aCol,
                                float[] b, int bOff, int ldb, int k, boolean accumulate) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate) {
            c00 = FloatVector.fromArray(S, c, cOff);
            c01 = FloatVector.fromArray(S, c, cOff + L);
            c10 = FloatVector.fromArray(S, c, cOff + ldc);
            c11 = FloatVector.fromArray(S, c, cOff + ldc + L);
            c20 = FloatVector.fromArray(S, c, cOff + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cOff + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, cOff + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cOff + 3 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
        }
        for (int p = 0; p < k; p++) {
            int bp = bOff + p * ldb, ap = aOff + p * aCol;
            FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
            FloatVector a0 = FloatVector.broadcast(S, a[ap]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, a[ap + aRow]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, a[ap + 2 * aRow]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, a[ap + 3 * aRow]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
    }

    /** One row of C, columns [j0, n): C[j] (+)= Σ_p A(p) · B[p, j]. */
    private void rowTail(float[] c, int cOff, float[] a, int aOff, int aCol, float[] b, int bOff, int ldb,
                         int j0, int n, int k, boolean accumulate) {
        if (j0 >= n) return;
        if (!accumulate) java.util.Arrays.fill(c, cOff + j0, cOff + n, 0f);
        for (int p = 0; p < k; p++) {
            axpy(c, cOff + j0, a[aOff + p * aCol], b, bOff + p * ldb + j0, n - j0);
        }
    }

    @Override
    public float dot(float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        int i = 0;
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.fromArray(S, y, yOff + i), s0);
            s1 = FloatVector.fromArray(S, x, xOff + i + L).fma(FloatVector.fromArray(S, y, yOff + i + L), s1);
        }
        for (int bound = S.loopBound(n); i < bound; i += L) {
            s0 = FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.fromArray(S, y, yOff + i), s0);
        }
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[xOff + i] * y[yOff + i];
        return s;
    }

    @Override
    public void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        FloatVector av = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, x, xOff + i).fma(av, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }
}
