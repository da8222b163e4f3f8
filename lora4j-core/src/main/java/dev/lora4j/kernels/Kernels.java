package dev.lora4j.kernels;

import dev.lora4j.tensor.WeightStorage;

/**
 * The numeric kernels every hot loop goes through: three GEMM shapes (the ones training needs) and two
 * BLAS-1 helpers. Single-threaded; {@link Gemm} spreads the GEMMs over cores. Matrices are row-major
 * float arrays addressed by offset and leading dimension (row stride), so a head inside a packed
 * (B, T, 3C) activation is a matrix too; a frozen weight may come in a compact {@link WeightStorage} instead. Kernels do
 * not allocate beyond a small per-call row or panel buffer.
 *
 * <p>{@link ScalarKernels} is the complete reference; {@code panama.PanamaKernels} (Vector API) must
 * agree with it. Chosen once by {@link KernelProvider}. Each implementation's results are a function of its inputs
 * alone, the same bits whether the JVM interprets or has compiled it, so identical runs stay identical.
 */
public interface Kernels {

    /** Name for logs and benchmark records, e.g. "panama-512" or "scalar". */
    String name();

    /**
     * C[m, n] (+)= Σ_k A[m, k] · B[n, k] — {@code x·Wᵀ} for a weight stored (out, in).
     * Modifies c only. {@code accumulate=false} overwrites C.
     */
    void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                 int m, int n, int k, boolean accumulate);

    /** C[m, n] (+)= Σ_k A[m, k] · B[k, n] — {@code dY·W}, or {@code x·W} for a Conv1D weight (in, out). */
    void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                int m, int n, int k, boolean accumulate);

    /**
     * {@link #gemmABt} with B a weight in any {@link WeightStorage} (a frozen weight held compactly), widened exactly to
     * float32 as it is read: the result equals gemmABt on the widened B. Except batch-1 products (m = 1, decoding) on
     * ggml's block formats (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K) whose rows are whole blocks: those compute what llama.cpp
     * computes, the row of A quantized to 8 bits once per call ({@link QuantizedActivation}: Q8_0 blocks of 32 for the
     * first three, Q8_K blocks of 256 for the k-quants) and each block of the product an integer dot product times the
     * two scales, so the result is the product of the widened B with the quantized row, to float rounding (and within
     * half a quantization step of the row, times Σ|b|, of the exact product); {@link Gemm} never cuts a product of
     * several rows into one-row parts, so prefill and training stay exact. Kernels made with {@code exactDots}
     * ({@code -Dlora4j.exactDots=true}, see {@link KernelProvider}) keep the exact product for those too.
     */
    void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                 int m, int n, int k, boolean accumulate);

    /** {@link #gemmAB} with B a weight in any {@link WeightStorage}, widened exactly: equals gemmAB on the widened B. */
    void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                int m, int n, int k, boolean accumulate);

    /** C[m, n] (+)= Σ_k A[k, m] · B[k, n] — {@code dYᵀ·X}, a weight gradient. A is stored (k, m). */
    void gemmAtB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                 int m, int n, int k, boolean accumulate);

    /** Σ_i x[xOff+i] · y[yOff+i] for i in [0, n). */
    float dot(float[] x, int xOff, float[] y, int yOff, int n);

    /** y[yOff+i] += alpha · x[xOff+i] for i in [0, n). Modifies y. */
    void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n);

    /** max_i x[off+i] for i in [0, n), n ≥ 1. */
    float max(float[] x, int off, int n);

    /** x[off+i] = exp(x[off+i] − shift) in place for i in [0, n); returns their sum (softmax's denominator). */
    float expShiftSum(float[] x, int off, int n, float shift);

    /** dst[dOff+i] = tanh(x[xOff+i]) for i in [0, n); dst may be x. */
    void tanh(float[] dst, int dOff, float[] x, int xOff, int n);

    /** x[off+i] *= s for i in [0, n). */
    void scale(float[] x, int off, int n, float s);

    /**
     * y[yOff+i] = x·Φ(x) = ½x(1 + erf(x/√2)), x = x[xOff+i], for i in [0, n): the exact GELU (BERT's), erf from Numerical
     * Recipes' erfc fit (fractional error below 1.2e-7). y may be x.
     */
    void geluErf(float[] y, int yOff, float[] x, int xOff, int n);

    /** dx[off+i] += dy[off+i]·(Φ(x) + x·φ(x)), x = x[off+i], for i in [0, n): the exact GELU's backward. */
    void geluErfBackward(float[] dx, float[] dy, float[] x, int off, int n);
}
