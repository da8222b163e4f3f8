package dev.lora4j.kernels;

import dev.lora4j.tensor.WeightStorage;

/**
 * The reference implementation of {@link Kernels}: plain loops, no SIMD, always available. A one-row product on a ggml
 * block weight quantizes the row once and takes llama.cpp's integer block dot products ({@link QuantizedActivation#dot}),
 * unless made with {@code exactDots}.
 */
public final class ScalarKernels implements Kernels {
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);
    private static final ThreadLocal<QuantizedActivation> ACTIVATION = ThreadLocal.withInitial(QuantizedActivation::new);
    private final boolean exactDots;

    /** The default kernels: one-row products on ggml block weights quantize the activations, as llama.cpp does. */
    public ScalarKernels() {
        this(false);
    }

    /** With {@code exactDots}, one-row products on ggml block weights also take the exactly widened weight. */
    public ScalarKernels(boolean exactDots) {
        this.exactDots = exactDots;
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = dot(a, aOff + i * lda, b, bOff + j * ldb, k);
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
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

    @Override
    public void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        if (m == 1 && !exactDots && QuantizedActivation.covers(b, bOff, ldb, k)) {
            QuantizedActivation x = ACTIVATION.get().quantize(a, aOff, k, QuantizedActivation.kindFor(b));
            for (int j = 0; j < n; j++) {
                float s = x.dot(b, bOff + j * ldb);
                c[cOff + j] = accumulate ? c[cOff + j] + s : s;
            }
            return;
        }
        float[] run = new float[RUN];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                float s = dot(a, aOff + i * lda, b, bOff + j * ldb, k, run);
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
        }
    }

    /** Values of a compact weight widened at a time by {@link #dot(float[], int, WeightStorage, int, int, float[])}. */
    private static final int RUN = 256;

    /**
     * Σ_i x[xOff + i]·w[off + i] for i in [0, n), w widened a run of at most {@link #RUN} values (one k-quant block) at
     * a time into {@code run}, never a whole row: the bits of {@link #dot(float[], int, float[], int, int)} on the
     * widened row (the same sum, left to right).
     */
    private static float dot(float[] x, int xOff, WeightStorage w, int off, int n, float[] run) {
        float s = 0f;
        for (int i0 = 0; i0 < n; i0 += RUN) {
            int len = Math.min(RUN, n - i0);
            w.widen(off + i0, run, 0, len);
            for (int i = 0; i < len; i++) s += x[xOff + i0 + i] * run[i];
        }
        return s;
    }

    @Override
    public void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                       int m, int n, int k, boolean accumulate) {
        if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
        float[] row = new float[n];                                          // B's row p, widened
        for (int p = 0; p < k; p++) {
            b.widen(bOff + p * ldb, row, 0, n);
            for (int i = 0; i < m; i++) axpy(c, cOff + i * ldc, a[aOff + i * lda + p], row, 0, n);
        }
    }

    /** C[i, :] (+)= Σ_k A(i, k) · B[k, :] where A(i, k) = a[aOff + i·aRow + k·aCol]. */
    private void gemmStrided(float[] c, int cOff, int ldc, float[] a, int aOff, int aRow, int aCol,
                             float[] b, int bOff, int ldb, int m, int n, int k, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int ci = cOff + i * ldc;
            if (!accumulate) java.util.Arrays.fill(c, ci, ci + n, 0f);
            for (int p = 0; p < k; p++) {
                axpy(c, ci, a[aOff + i * aRow + p * aCol], b, bOff + p * ldb, n);
            }
        }
    }

    @Override
    public float dot(float[] x, int xOff, float[] y, int yOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += x[xOff + i] * y[yOff + i];
        return s;
    }

    @Override
    public void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public float max(float[] x, int off, int n) {
        float m = x[off];
        for (int i = 1; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    @Override
    public float expShiftSum(float[] x, int off, int n, float shift) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[off + i] = (float) Math.exp(x[off + i] - shift);
        return (float) sum;
    }

    @Override
    public void tanh(float[] dst, int dOff, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) dst[dOff + i] = (float) Math.tanh(x[xOff + i]);
    }

    @Override
    public void scale(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i++) x[off + i] *= s;
    }

    @Override
    public void geluErf(float[] y, int yOff, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) {
            double v = x[xOff + i];
            y[yOff + i] = (float) (0.5 * v * (1.0 + erf(v * INV_SQRT2)));
        }
    }

    @Override
    public void geluErfBackward(float[] dx, float[] dy, float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            double v = x[i], cdf = 0.5 * (1.0 + erf(v * INV_SQRT2)), pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
            dx[i] += (float) (dy[i] * (cdf + v * pdf));
        }
    }

    /** erf(z) = 1 − erfc(z), erfc by Numerical Recipes' Chebyshev fit (fractional error {@literal <} 1.2e-7 everywhere). */
    public static double erf(double z) {
        double a = Math.abs(z), t = 1.0 / (1.0 + 0.5 * a);
        double erfc = t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return z >= 0 ? 1.0 - erfc : erfc - 1.0;
    }
}
