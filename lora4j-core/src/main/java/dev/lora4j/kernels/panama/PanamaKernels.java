package dev.lora4j.kernels.panama;

import dev.lora4j.kernels.Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels} on the Vector API, sized by the preferred species (512-bit with -XX:UseAVX=3 on
 * AVX-512 machines, else 256-bit). The three GEMM forms share one BLIS-style routine: B is packed, a
 * panel of {@link #KC} × NR at a time (NR = two vectors), into a k-major buffer, and a 6 × NR register
 * micro-kernel (12 accumulators) runs the k loop over it with A broadcast element by element; A is read
 * in place through row and column strides, so A·B, A·Bᵀ and Aᵀ·B differ only in strides. Tails run a
 * one-row kernel; columns beyond N are zero in the panel and never stored. The only package that
 * imports jdk.incubator.vector; loaded by reflection from {@code KernelProvider}.
 */
public final class PanamaKernels implements Kernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int NR = 2 * L;
    private static final int MR = 6;
    private static final int KC = 256;
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[KC * NR]);
    private static final ThreadLocal<float[]> TAIL = ThreadLocal.withInitial(() -> new float[NR]);

    @Override
    public String name() {
        return "panama-" + S.vectorBitSize();
    }

    @Override
    public void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, lda, 1, b, bOff, 1, ldb, m, n, k, accumulate);
    }

    @Override
    public void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, lda, 1, b, bOff, ldb, 1, m, n, k, accumulate);
    }

    @Override
    public void gemmAtB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, 1, lda, b, bOff, ldb, 1, m, n, k, accumulate);
    }

    /** C[i, j] (+)= Σ_p A(i, p)·B(p, j), A(i, p) = a[aOff + i·aRs + p·aCs], B(p, j) = b[bOff + p·bRs + j·bCs]. */
    private static void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int aRs, int aCs,
                             float[] b, int bOff, int bRs, int bCs, int m, int n, int k, boolean accumulate) {
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        if (n < NR && m >= 2 * NR) {                 // thin C (LoRA's r columns): compute Cᵀ = Bᵀ·Aᵀ, wide, then add it back
            float[] t = new float[n * m];
            gemm(t, 0, m, b, bOff, bCs, bRs, a, aOff, aCs, aRs, n, m, k, false);
            for (int i = 0; i < m; i++) {
                for (int j = 0, ci = cOff + i * ldc; j < n; j++) c[ci + j] = accumulate ? c[ci + j] + t[j * m + i] : t[j * m + i];
            }
            return;
        }
        float[] panel = PANEL.get();
        for (int j0 = 0; j0 < n; j0 += NR) {
            int nr = Math.min(NR, n - j0);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = Math.min(KC, k - p0);
                pack(panel, b, bOff + p0 * bRs + j0 * bCs, bRs, bCs, kc, nr);
                boolean acc = accumulate || p0 > 0;
                int aBase = aOff + p0 * aCs, cBase = cOff + j0;
                int i = 0;
                if (nr == NR) {
                    for (; i + MR <= m; i += MR) micro6(c, cBase + i * ldc, ldc, a, aBase + i * aRs, aRs, aCs, panel, kc, acc);
                }
                for (; i < m; i++) micro1(c, cBase + i * ldc, a, aBase + i * aRs, aCs, panel, kc, nr, acc);
            }
        }
    }

    /** panel[p·NR + j] = B(p, j) for p < kc, j < nr; zero for j ≥ nr. */
    private static void pack(float[] panel, float[] b, int off, int bRs, int bCs, int kc, int nr) {
        if (bCs == 1 && nr == NR) {
            for (int p = 0; p < kc; p++) System.arraycopy(b, off + p * bRs, panel, p * NR, NR);
            return;
        }
        for (int j = 0; j < nr; j++) {                       // column by column: reads run along B's rows when bRs = 1
            for (int p = 0, src = off + j * bCs; p < kc; p++, src += bRs) panel[p * NR + j] = b[src];
        }
        for (int j = nr; j < NR; j++) {
            for (int p = 0; p < kc; p++) panel[p * NR + j] = 0f;
        }
    }

    /** Six full rows × NR columns. */
    private static void micro6(float[] c, int cOff, int ldc, float[] a, int aOff, int aRs, int aCs,
                               float[] panel, int kc, boolean acc) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, cOff);
            c01 = FloatVector.fromArray(S, c, cOff + L);
            c10 = FloatVector.fromArray(S, c, cOff + ldc);
            c11 = FloatVector.fromArray(S, c, cOff + ldc + L);
            c20 = FloatVector.fromArray(S, c, cOff + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cOff + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, cOff + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cOff + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, cOff + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, cOff + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, c, cOff + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, cOff + 5 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        }
        for (int p = 0, ap = aOff; p < kc; p++, ap += aCs) {
            FloatVector b0 = FloatVector.fromArray(S, panel, p * NR), b1 = FloatVector.fromArray(S, panel, p * NR + L);
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ap + aRs]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ap + 2 * aRs]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ap + 3 * aRs]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ap + 4 * aRs]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ap + 5 * aRs]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
    }

    /** One row × nr ≤ NR columns (row and column tails). */
    private static void micro1(float[] c, int cOff, float[] a, int aOff, int aCs, float[] panel, int kc, int nr, boolean acc) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        for (int p = 0, ap = aOff; p < kc; p++, ap += aCs) {
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c0 = x.fma(FloatVector.fromArray(S, panel, p * NR), c0);
            c1 = x.fma(FloatVector.fromArray(S, panel, p * NR + L), c1);
        }
        if (nr == NR && acc) {
            c0.add(FloatVector.fromArray(S, c, cOff)).intoArray(c, cOff);
            c1.add(FloatVector.fromArray(S, c, cOff + L)).intoArray(c, cOff + L);
        } else if (nr == NR) {
            c0.intoArray(c, cOff);
            c1.intoArray(c, cOff + L);
        } else {
            float[] t = TAIL.get();
            c0.intoArray(t, 0);
            c1.intoArray(t, L);
            for (int j = 0; j < nr; j++) c[cOff + j] = acc ? c[cOff + j] + t[j] : t[j];
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

    @Override
    public float max(float[] x, int off, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector v = FloatVector.fromArray(S, x, off);
            for (i = L; i <= n - L; i += L) v = v.max(FloatVector.fromArray(S, x, off + i));
            m = v.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    @Override
    public float expShiftSum(float[] x, int off, int n, float shift) {
        FloatVector sh = FloatVector.broadcast(S, shift), sum = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector e = FloatVector.fromArray(S, x, off + i).sub(sh).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            sum = sum.add(e);
        }
        float s = sum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[off + i] = (float) Math.exp(x[off + i] - shift);
        return s;
    }

    @Override
    public void tanh(float[] dst, int dOff, float[] x, int xOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, x, xOff + i).lanewise(VectorOperators.TANH).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) dst[dOff + i] = (float) Math.tanh(x[xOff + i]);
    }

    @Override
    public void scale(float[] x, int off, int n, float s) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) FloatVector.fromArray(S, x, off + i).mul(sv).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }
}
