package dev.lora4j.kernels.panama;

import dev.lora4j.kernels.Kernels;
import dev.lora4j.kernels.QuantizedActivation;
import dev.lora4j.kernels.ScalarKernels;
import dev.lora4j.tensor.WeightStorage;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * {@link Kernels} on the Vector API, sized by the preferred species (512-bit with -XX:UseAVX=3 on
 * AVX-512 machines, else 256-bit). The three GEMM forms share one BLIS-style routine: B is packed, a
 * panel of {@link #KC} × NR at a time, into a k-major buffer, and a 6 × NR register micro-kernel runs the k loop over
 * it with A broadcast element by element: NR is four vectors with 512-bit vectors (24 accumulators of AVX-512's 32
 * registers, so each broadcast of A feeds four FMAs) and two otherwise (12 accumulators of AVX2's 16); A is read
 * in place through row and column strides, so A·B, A·Bᵀ and Aᵀ·B differ only in strides. A last panel of two to four
 * vectors (an attention head of 32 columns) runs its first two vectors in the 6 × 2 kernel. Tails run a
 * one-row kernel; columns beyond N are zero in the panel and never stored. Outputs with few columns (LoRA's r) are
 * per-row dot products instead, and one-row products (decoding) read B in place: ggml's block formats as llama.cpp
 * does, integer dot products with the row quantized to 8 bits ({@link QuantizedDots}), other compact formats (and
 * every one with {@code exactDots}) widened in registers ({@link WeightDots}). Every result is a fixed sequence of
 * IEEE operations, so it has the same bits interpreted and compiled. The only package that
 * imports jdk.incubator.vector; loaded by reflection from {@code KernelProvider}.
 */
public final class PanamaKernels implements Kernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Columns of the micro-kernel: four vectors where there are 32 vector registers (AVX-512), else two. */
    private static final int NR = (S.vectorBitSize() >= 512 ? 4 : 2) * L;
    private static final int MR = 6;
    private static final int KC = 256;
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[KC * NR]);
    private static final ThreadLocal<float[]> TAIL = ThreadLocal.withInitial(() -> new float[NR]);
    private static final ThreadLocal<float[]> RUN = ThreadLocal.withInitial(() -> new float[KC]);
    private static final ThreadLocal<float[]> THIN = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> GATHER = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> COLUMNS = ThreadLocal.withInitial(() -> new float[0]);
    /** Values per run of {@link #geluErfBackward}'s two passes. */
    private static final int RUN_LENGTH = 2048;
    private static final ThreadLocal<float[]> CDFS = ThreadLocal.withInitial(() -> new float[RUN_LENGTH]);
    /**
     * {@link #cdfPass} and {@link #geluGradientPass} through method handles that are not constants, so C2 compiles each
     * on its own: inlined into one compilation, their two exps ran past C2's node budget and some vector operations were
     * left as calls on boxed vectors (the GELU backward at a fraction of its speed).
     */
    private static final MethodHandle[] GELU_BACKWARD;

    static {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        try {
            GELU_BACKWARD = new MethodHandle[] {
                    lookup.findStatic(PanamaKernels.class, "cdfPass", MethodType.methodType(void.class, float[].class, float[].class, int.class, int.class)),
                    lookup.findStatic(PanamaKernels.class, "geluGradientPass", MethodType.methodType(void.class, float[].class, float[].class,
                            float[].class, float[].class, int.class, int.class))};
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private final boolean exactDots;

    /** The default kernels: one-row products on ggml block weights quantize the activations ({@link QuantizedDots}). */
    public PanamaKernels() {
        this(false);
    }

    /** With {@code exactDots}, one-row products on ggml block weights also widen the weight exactly ({@link WeightDots}). */
    public PanamaKernels(boolean exactDots) {
        this.exactDots = exactDots;
    }

    @Override
    public String name() {
        return "panama-" + S.vectorBitSize();
    }

    @Override
    public void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, lda, 1, b, null, bOff, 1, ldb, m, n, k, accumulate);
    }

    @Override
    public void gemmABt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        if (b instanceof WeightStorage.F32(float[] f)) gemm(c, cOff, ldc, a, aOff, lda, 1, f, null, bOff, 1, ldb, m, n, k, accumulate);
        else if (m == 1 && !exactDots && QuantizedActivation.covers(b, bOff, ldb, k)) QuantizedDots.gemv(c, cOff, a, aOff, b, bOff, ldb, n, k, accumulate);
        else gemm(c, cOff, ldc, a, aOff, lda, 1, null, b, bOff, 1, ldb, m, n, k, accumulate);
    }

    @Override
    public void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                       int m, int n, int k, boolean accumulate) {
        if (b instanceof WeightStorage.F32(float[] f)) gemm(c, cOff, ldc, a, aOff, lda, 1, f, null, bOff, ldb, 1, m, n, k, accumulate);
        else gemm(c, cOff, ldc, a, aOff, lda, 1, null, b, bOff, ldb, 1, m, n, k, accumulate);
    }

    @Override
    public void gemmAB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, lda, 1, b, null, bOff, ldb, 1, m, n, k, accumulate);
    }

    @Override
    public void gemmAtB(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, 1, lda, b, null, bOff, ldb, 1, m, n, k, accumulate);
    }

    /**
     * C[i, j] (+)= Σ_p A(i, p)·B(p, j), A(i, p) = a[aOff + i·aRs + p·aCs], B(p, j) = b[bOff + p·bRs + j·bCs] — from the
     * float array {@code b}, or from the compact storage {@code bs} (widened while packing) when b is null.
     */
    private static void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int aRs, int aCs,
                             float[] b, WeightStorage bs, int bOff, int bRs, int bCs, int m, int n, int k, boolean accumulate) {
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        boolean thin = n < 2 * L && m >= 4 * L, oneRow = m == 1 && (bCs == 1 || bRs == 1);
        if (b == null && oneRow) {                           // decoding on a compact weight: widened in registers
            gemv(c, cOff, a, aOff, aCs, bs, bOff, bRs, bCs, n, k, accumulate);
            return;
        }
        if (b == null && thin) {                             // this path reads B in place: widen the (k, n) block first
            b = widen(bs, bOff, bRs, bCs, k, n);
            bRs = bCs == 1 ? n : 1;
            bCs = bCs == 1 ? 1 : k;
            bOff = 0;
        }
        if (thin && aCs == 1) {                              // x·Aᵀ with LoRA's r columns: dot products, nothing packed
            if (bRs != 1) {                                  // B's columns made contiguous along k first (n·k, small)
                b = columns(b, bOff, bRs, bCs, k, n);
                bOff = 0;
                bCs = k;
            }
            thinDots(c, cOff, ldc, a, aOff, aRs, b, bOff, bCs, m, n, k, accumulate);
            return;
        }
        if (thin) {                                          // thin C (LoRA's r columns): compute Cᵀ = Bᵀ·Aᵀ, wide, then add it back
            float[] t = THIN.get();                          // Cᵀ, overwritten whole by the product below
            if (t.length < n * m) THIN.set(t = new float[n * m]);
            gemm(t, 0, m, b, bOff, bCs, bRs, a, null, aOff, aCs, aRs, n, m, k, false);
            for (int i = 0; i < m; i++) {
                for (int j = 0, ci = cOff + i * ldc; j < n; j++) c[ci + j] = accumulate ? c[ci + j] + t[j * m + i] : t[j * m + i];
            }
            return;
        }
        if (oneRow) {                                        // one row (decoding): no packing, B read once in place
            gemv(c, cOff, a, aOff, aCs, b, bOff, bRs, bCs, n, k, accumulate);
            return;
        }
        float[] panel = PANEL.get();
        for (int j0 = 0; j0 < n; j0 += NR) {
            int nr = Math.min(NR, n - j0);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = Math.min(KC, k - p0);
                if (b != null) pack(panel, b, bOff + p0 * bRs + j0 * bCs, bRs, bCs, kc, nr);
                else pack(panel, bs, bOff + p0 * bRs + j0 * bCs, bRs, bCs, kc, nr);
                boolean acc = accumulate || p0 > 0;
                int aBase = aOff + p0 * aCs, cBase = cOff + j0;
                int i = 0, done = 0;                         // rows [0, i) done in columns [0, done)
                if (nr == NR && NR == 4 * L) {
                    for (; i + MR <= m; i += MR) micro6x4(c, cBase + i * ldc, ldc, a, aBase + i * aRs, aRs, aCs, panel, kc, acc);
                    done = nr;
                } else if (nr >= 2 * L) {                    // a panel's first two vectors (a head of 32 columns at 512 bits)
                    for (; i + MR <= m; i += MR) micro6x2(c, cBase + i * ldc, ldc, a, aBase + i * aRs, aRs, aCs, panel, kc, acc);
                    done = 2 * L;
                }
                for (int r = 0; r < i && done < nr; r++) micro1(c, cBase + r * ldc, a, aBase + r * aRs, aCs, panel, kc, done, nr, acc);
                for (; i < m; i++) micro1(c, cBase + i * ldc, a, aBase + i * aRs, aCs, panel, kc, 0, nr, acc);
            }
        }
    }

    /**
     * c[j] (+)= Σ_p A(0, p)·B(p, j) for one row of A: as axpys over B's rows when they are contiguous (bCs = 1, x·W),
     * else as dot products with B's columns (bRs = 1, x·Wᵀ). Packing would copy all of B to use it once.
     */
    private static void gemv(float[] c, int cOff, float[] a, int aOff, int aCs, float[] b, int bOff, int bRs, int bCs,
                             int n, int k, boolean accumulate) {
        if (bCs == 1) {
            if (!accumulate) java.util.Arrays.fill(c, cOff, cOff + n, 0f);
            int bound = S.loopBound(n);
            for (int p = 0; p < k; p++) {
                float x = a[aOff + p * aCs];
                FloatVector xv = FloatVector.broadcast(S, x);
                int row = bOff + p * bRs, j = 0;
                for (; j < bound; j += L) {
                    FloatVector.fromArray(S, b, row + j).fma(xv, FloatVector.fromArray(S, c, cOff + j)).intoArray(c, cOff + j);
                }
                for (; j < n; j++) c[cOff + j] += x * b[row + j];
            }
            return;
        }
        if (aCs != 1) {                                          // A's row strided (a column of Aᵀ): gather it first
            a = gather(a, aOff, aCs, k);
            aOff = 0;
        }
        for (int j = 0; j < n; j++) {
            float s = dotStatic(a, aOff, b, bOff + j * bCs, k);
            c[cOff + j] = accumulate ? c[cOff + j] + s : s;
        }
    }

    /** A(0, p) = a[aOff + p·aCs] for p < k, copied into this thread's buffer. */
    private static float[] gather(float[] a, int aOff, int aCs, int k) {
        float[] row = GATHER.get();
        if (row.length < k) GATHER.set(row = new float[k]);
        for (int p = 0; p < k; p++) row[p] = a[aOff + p * aCs];
        return row;
    }

    /**
     * {@link #gemv} with B a compact weight, never widened as a whole: x·Wᵀ (bRs = 1) as dot products with W's rows
     * widened in registers ({@link WeightDots#dot}), x·W (bCs = 1) as axpys over its rows; the same bits as gemv on the
     * widened B. (A one-row x·Wᵀ on ggml's blocks takes {@link QuantizedDots} before it gets here, unless exactDots.)
     */
    private static void gemv(float[] c, int cOff, float[] a, int aOff, int aCs, WeightStorage b, int bOff, int bRs, int bCs,
                             int n, int k, boolean accumulate) {
        if (bCs == 1) {
            if (!accumulate) java.util.Arrays.fill(c, cOff, cOff + n, 0f);
            for (int p = 0; p < k; p++) WeightDots.axpy(c, cOff, a[aOff + p * aCs], b, bOff + p * bRs, n);
            return;
        }
        if (aCs != 1) {                                          // A's row strided (a column of Aᵀ): gather it first
            a = gather(a, aOff, aCs, k);
            aOff = 0;
        }
        for (int j = 0; j < n; j++) {
            float s = WeightDots.dot(a, aOff, b, bOff + j * bCs, k);
            c[cOff + j] = accumulate ? c[cOff + j] + s : s;
        }
    }

    /** B(p, j) for p < k, j < n, copied into this thread's buffer with column j at [j·k, j·k + k). */
    private static float[] columns(float[] b, int bOff, int bRs, int bCs, int k, int n) {
        float[] w = COLUMNS.get();
        if (w.length < k * n) COLUMNS.set(w = new float[k * n]);
        for (int j = 0; j < n; j++) {
            for (int p = 0, src = bOff + j * bCs; p < k; p++, src += bRs) w[j * k + p] = b[src];
        }
        return w;
    }

    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i), ODD = VectorShuffle.fromOp(S, i -> 2 * i + 1);

    /**
     * C[i, j] (+)= Σ_p A(i, p)·B(p, j) with A's rows and B's columns contiguous along p (bCs apart) and few columns:
     * per row of A, four columns at a time as four vector dot products over p (the row and B's columns stay in L1),
     * whose lanes are then summed in a fixed order; leftover columns by {@link #dotStatic}.
     */
    private static void thinDots(float[] c, int cOff, int ldc, float[] a, int aOff, int aRs, float[] b, int bOff, int bCs,
                                 int m, int n, int k, boolean accumulate) {
        float[] sums = TAIL.get();
        int bound = S.loopBound(k), q = L / 4;
        for (int i = 0; i < m; i++) {
            int ai = aOff + i * aRs, ci = cOff + i * ldc, j = 0;
            for (; j + 4 <= n; j += 4) {
                int b0 = bOff + j * bCs, b1 = b0 + bCs, b2 = b1 + bCs, b3 = b2 + bCs;
                FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
                for (int p = 0; p < bound; p += L) {
                    FloatVector x = FloatVector.fromArray(S, a, ai + p);
                    c0 = x.fma(FloatVector.fromArray(S, b, b0 + p), c0);
                    c1 = x.fma(FloatVector.fromArray(S, b, b1 + p), c1);
                    c2 = x.fma(FloatVector.fromArray(S, b, b2 + p), c2);
                    c3 = x.fma(FloatVector.fromArray(S, b, b3 + p), c3);
                }
                // lanes [L/4·g, L/4·(g + 1)) of the sum hold c_g's lanes four by four: two rounds of even + odd lanes
                // across a pair of vectors (shuffle indexes ≥ L select from the second); written out, not a call, so
                // the vectors stay in registers
                FloatVector u = c0.rearrange(EVEN, c1).add(c0.rearrange(ODD, c1));
                FloatVector w = c2.rearrange(EVEN, c3).add(c2.rearrange(ODD, c3));
                u.rearrange(EVEN, w).add(u.rearrange(ODD, w)).intoArray(sums, 0);
                for (int g = 0, bg = b0; g < 4; g++, bg += bCs) {
                    float s = 0f;
                    for (int t = 0; t < q; t++) s += sums[g * q + t];
                    for (int p = bound; p < k; p++) s += a[ai + p] * b[bg + p];
                    c[ci + j + g] = accumulate ? c[ci + j + g] + s : s;
                }
            }
            for (; j < n; j++) {
                float s = dotStatic(a, ai, b, bOff + j * bCs, k);
                c[ci + j] = accumulate ? c[ci + j] + s : s;
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

    /**
     * B(p, j), p < k, j < n, widened from its storage into a new compact array laid out as B is: contiguous along j
     * when bCs = 1 (row stride n), else along p (column stride k, bRs = 1), read run by run along that dimension.
     */
    private static float[] widen(WeightStorage bs, int bOff, int bRs, int bCs, int k, int n) {
        float[] w = new float[k * n];
        if (bCs == 1) {
            for (int p = 0; p < k; p++) bs.widen(bOff + p * bRs, w, p * n, n);
        } else {
            for (int j = 0; j < n; j++) bs.widen(bOff + j * bCs, w, j * k, k);
        }
        return w;
    }

    /** {@link #pack} from a compact storage, widened exactly, in runs along B's contiguous dimension. */
    private static void pack(float[] panel, WeightStorage b, int off, int bRs, int bCs, int kc, int nr) {
        if (bCs == 1) {
            for (int p = 0; p < kc; p++) b.widen(off + p * bRs, panel, p * NR, nr);
            for (int p = 0; p < kc; p++) {
                for (int j = nr; j < NR; j++) panel[p * NR + j] = 0f;
            }
            return;
        }
        float[] run = RUN.get();                             // B's column j, p < kc (contiguous: bRs = 1)
        for (int j = 0; j < nr; j++) {
            b.widen(off + j * bCs, run, 0, kc);
            for (int p = 0; p < kc; p++) panel[p * NR + j] = run[p];
        }
        for (int j = nr; j < NR; j++) {
            for (int p = 0; p < kc; p++) panel[p * NR + j] = 0f;
        }
    }

    /** Six full rows × NR = 2L columns. */
    private static void micro6x2(float[] c, int cOff, int ldc, float[] a, int aOff, int aRs, int aCs,
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

    /** Six full rows × NR = 4L columns. */
    private static void micro6x4(float[] c, int cOff, int ldc, float[] a, int aOff, int aRs, int aCs,
                                 float[] panel, int kc, boolean acc) {
        FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43,
                c50, c51, c52, c53;
        if (acc) {
            int r = cOff;
            c00 = FloatVector.fromArray(S, c, r); c01 = FloatVector.fromArray(S, c, r + L);
            c02 = FloatVector.fromArray(S, c, r + 2 * L); c03 = FloatVector.fromArray(S, c, r + 3 * L);
            r += ldc;
            c10 = FloatVector.fromArray(S, c, r); c11 = FloatVector.fromArray(S, c, r + L);
            c12 = FloatVector.fromArray(S, c, r + 2 * L); c13 = FloatVector.fromArray(S, c, r + 3 * L);
            r += ldc;
            c20 = FloatVector.fromArray(S, c, r); c21 = FloatVector.fromArray(S, c, r + L);
            c22 = FloatVector.fromArray(S, c, r + 2 * L); c23 = FloatVector.fromArray(S, c, r + 3 * L);
            r += ldc;
            c30 = FloatVector.fromArray(S, c, r); c31 = FloatVector.fromArray(S, c, r + L);
            c32 = FloatVector.fromArray(S, c, r + 2 * L); c33 = FloatVector.fromArray(S, c, r + 3 * L);
            r += ldc;
            c40 = FloatVector.fromArray(S, c, r); c41 = FloatVector.fromArray(S, c, r + L);
            c42 = FloatVector.fromArray(S, c, r + 2 * L); c43 = FloatVector.fromArray(S, c, r + 3 * L);
            r += ldc;
            c50 = FloatVector.fromArray(S, c, r); c51 = FloatVector.fromArray(S, c, r + L);
            c52 = FloatVector.fromArray(S, c, r + 2 * L); c53 = FloatVector.fromArray(S, c, r + 3 * L);
        } else {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = c40 = c41 = c42
                    = c43 = c50 = c51 = c52 = c53 = FloatVector.zero(S);
        }
        for (int p = 0, ap = aOff; p < kc; p++, ap += aCs) {
            int o = p * NR;
            FloatVector b0 = FloatVector.fromArray(S, panel, o), b1 = FloatVector.fromArray(S, panel, o + L);
            FloatVector b2 = FloatVector.fromArray(S, panel, o + 2 * L), b3 = FloatVector.fromArray(S, panel, o + 3 * L);
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a[ap + aRs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a[ap + 2 * aRs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a[ap + 3 * aRs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
            x = FloatVector.broadcast(S, a[ap + 4 * aRs]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41); c42 = x.fma(b2, c42); c43 = x.fma(b3, c43);
            x = FloatVector.broadcast(S, a[ap + 5 * aRs]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51); c52 = x.fma(b2, c52); c53 = x.fma(b3, c53);
        }
        int r = cOff;
        c00.intoArray(c, r); c01.intoArray(c, r + L); c02.intoArray(c, r + 2 * L); c03.intoArray(c, r + 3 * L);
        r += ldc;
        c10.intoArray(c, r); c11.intoArray(c, r + L); c12.intoArray(c, r + 2 * L); c13.intoArray(c, r + 3 * L);
        r += ldc;
        c20.intoArray(c, r); c21.intoArray(c, r + L); c22.intoArray(c, r + 2 * L); c23.intoArray(c, r + 3 * L);
        r += ldc;
        c30.intoArray(c, r); c31.intoArray(c, r + L); c32.intoArray(c, r + 2 * L); c33.intoArray(c, r + 3 * L);
        r += ldc;
        c40.intoArray(c, r); c41.intoArray(c, r + L); c42.intoArray(c, r + 2 * L); c43.intoArray(c, r + 3 * L);
        r += ldc;
        c50.intoArray(c, r); c51.intoArray(c, r + L); c52.intoArray(c, r + 2 * L); c53.intoArray(c, r + 3 * L);
    }

    /**
     * One row × columns [from, nr), nr ≤ NR (row and column tails): two vectors of columns at a time (one when at most
     * one vector's worth is left), each column's sum from zero in p order, then added to C; a last partial vector is
     * loaded and stored under a mask.
     */
    private static void micro1(float[] c, int cOff, float[] a, int aOff, int aCs, float[] panel, int kc, int from, int nr,
                               boolean acc) {
        for (int v = from; v < NR && v < nr; v += 2 * L) {
            int cv = cOff + v, w = nr - v;                   // columns of C from cv on, w of them left
            FloatVector c0 = FloatVector.zero(S), c1 = c0;
            if (w <= L) {
                for (int p = 0, ap = aOff, o = v; p < kc; p++, ap += aCs, o += NR) {
                    c0 = FloatVector.broadcast(S, a[ap]).fma(FloatVector.fromArray(S, panel, o), c0);
                }
            } else {
                for (int p = 0, ap = aOff, o = v; p < kc; p++, ap += aCs, o += NR) {
                    FloatVector x = FloatVector.broadcast(S, a[ap]);
                    c0 = x.fma(FloatVector.fromArray(S, panel, o), c0);
                    c1 = x.fma(FloatVector.fromArray(S, panel, o + L), c1);
                }
            }
            if (w >= 2 * L) {
                if (acc) {
                    c0 = c0.add(FloatVector.fromArray(S, c, cv));
                    c1 = c1.add(FloatVector.fromArray(S, c, cv + L));
                }
                c0.intoArray(c, cv);
                c1.intoArray(c, cv + L);
                continue;
            }
            VectorMask<Float> m0 = S.indexInRange(0, w), m1 = S.indexInRange(L, w);
            if (acc) {
                c0 = c0.add(FloatVector.fromArray(S, c, cv, m0));
                if (w > L) c1 = c1.add(FloatVector.fromArray(S, c, cv + L, m1));
            }
            c0.intoArray(c, cv, m0);
            if (w > L) c1.intoArray(c, cv + L, m1);
        }
    }

    @Override
    public float dot(float[] x, int xOff, float[] y, int yOff, int n) {
        return dotStatic(x, xOff, y, yOff, n);
    }

    static float dotStatic(float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        int i = 0;
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.fromArray(S, y, yOff + i), s0);
            s1 = FloatVector.fromArray(S, x, xOff + i + L).fma(FloatVector.fromArray(S, y, yOff + i + L), s1);
        }
        for (int bound = S.loopBound(n); i < bound; i += L) {
            s0 = FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.fromArray(S, y, yOff + i), s0);
        }
        float s = sumLanes(s0.add(s1));
        for (; i < n; i++) s += x[xOff + i] * y[yOff + i];
        return s;
    }

    /**
     * The lanes' sum, left to right. {@code reduceLanes(ADD)} may add in another order once C2 compiles the caller,
     * so the same call would give other bits before and after warm-up.
     */
    static float sumLanes(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0f;
        for (float lane : lanes) s += lane;
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
            FloatVector e = exp(FloatVector.fromArray(S, x, off + i).sub(sh));
            e.intoArray(x, off + i);
            sum = sum.add(e);
        }
        float s = sumLanes(sum);
        for (; i < n; i++) s += x[off + i] = (float) Math.exp(x[off + i] - shift);
        return s;
    }

    @Override
    public void tanh(float[] dst, int dOff, float[] x, int xOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            tanh(FloatVector.fromArray(S, x, xOff + i)).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) dst[dOff + i] = (float) Math.tanh(x[xOff + i]);
    }

    // exp and tanh from IEEE +, ×, ÷ and fma only (Cephes' expf and tanhf): the Vector API's EXP and TANH give other
    // bits in the interpreter than in C2 code, which made two identical runs differ in the last place.
    private static final FloatVector LOG2E = FloatVector.broadcast(S, 1.44269504088896341f);
    private static final FloatVector ROUND = FloatVector.broadcast(S, 12582912f);             // 1.5·2²³: x + ROUND − ROUND rounds x
    private static final FloatVector LN2_HI = FloatVector.broadcast(S, -0.693359375f), LN2_LO = FloatVector.broadcast(S, 2.12194440e-4f);
    private static final FloatVector EXP_MIN = FloatVector.broadcast(S, -103.972f), EXP_MAX = FloatVector.broadcast(S, 88.7228391f);
    private static final float[] EXP_POLY = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
            1.6666665459e-1f, 5.0000001201e-1f};
    private static final float[] TANH_POLY = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
            1.33314422036e-1f, -3.33332819422e-1f};

    /**
     * e^x within 2 ulp, subnormal results included: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-7 polynomial,
     * then times 2^⌊n/2⌋ and 2^⌈n/2⌉ from exponent bits (each a normal float for every n in range); 0 below −103.97,
     * +∞ above ln(Float.MAX_VALUE).
     */
    static FloatVector exp(FloatVector x) {
        FloatVector t = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector n = t.fma(LOG2E, ROUND).sub(ROUND);
        FloatVector r = n.fma(LN2_HI, t);
        r = n.fma(LN2_LO, r);
        FloatVector p = FloatVector.broadcast(S, EXP_POLY[0]);
        for (int i = 1; i < EXP_POLY.length; i++) p = p.fma(r, FloatVector.broadcast(S, EXP_POLY[i]));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0), lo = ni.lanewise(VectorOperators.ASHR, 1);
        y = y.mul(powerOfTwo(lo)).mul(powerOfTwo(ni.sub(lo)));
        return y.blend(0f, x.lt(EXP_MIN)).blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
    }

    /** 2^e for −126 ≤ e ≤ 127. */
    private static FloatVector powerOfTwo(IntVector e) {
        return e.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    }

    /** tanh x within 2 ulp: an odd polynomial in x for |x| ≤ 0.625, else ±(1 − 2 / (e^{2|x|} + 1)); tanh(±0) = ±0. */
    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs(), z = x.mul(x);
        FloatVector p = FloatVector.broadcast(S, TANH_POLY[0]);
        for (int i = 1; i < TANH_POLY.length; i++) p = p.fma(z, FloatVector.broadcast(S, TANH_POLY[i]));
        FloatVector small = p.mul(z).fma(x, x);
        FloatVector large = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(a.add(a)).add(1f)));
        large = large.blend(large.neg(), x.lt(0f));
        return large.blend(small, a.compare(VectorOperators.LE, 0.625f)).blend(x, x.eq(0f));   // ±0 as given
    }

    @Override
    public void geluErf(float[] y, int yOff, float[] x, int xOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xOff + i);
            v.mul(cdf(v)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            double v = x[xOff + i];
            y[yOff + i] = (float) (0.5 * v * (1.0 + ScalarKernels.erf(v * INV_SQRT2)));
        }
    }

    @Override
    public void geluErfBackward(float[] dx, float[] dy, float[] x, int off, int n) {
        float[] cdfs = CDFS.get();
        int bound = off + S.loopBound(n);
        try {
            for (int i = off; i < bound; i += RUN_LENGTH) {
                int len = Math.min(bound - i, RUN_LENGTH);
                GELU_BACKWARD[0].invokeExact(cdfs, x, i, len);
                GELU_BACKWARD[1].invokeExact(dx, dy, x, cdfs, i, len);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new AssertionError(e);                     // the passes throw nothing checked
        }
        for (int i = bound; i < off + n; i++) {
            double v = x[i], cdf = 0.5 * (1.0 + ScalarKernels.erf(v * INV_SQRT2));
            dx[i] += (float) (dy[i] * (cdf + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v)));
        }
    }

    /** cdfs[j] = Φ(x[off + j]) for j < len, a multiple of L. */
    private static void cdfPass(float[] cdfs, float[] x, int off, int len) {
        for (int j = 0; j < len; j += L) cdf(FloatVector.fromArray(S, x, off + j)).intoArray(cdfs, j);
    }

    /** dx += dy·(Φ(x) + x·φ(x)) over [off, off + len), Φ(x) from {@code cdfs}. */
    private static void geluGradientPass(float[] dx, float[] dy, float[] x, float[] cdfs, int off, int len) {
        for (int j = 0; j < len; j += L) {
            int i = off + j;
            FloatVector v = FloatVector.fromArray(S, x, i);
            FloatVector pdf = exp(v.mul(v).mul(-0.5f)).mul((float) INV_SQRT_2PI);
            FloatVector.fromArray(S, dy, i).fma(v.fma(pdf, FloatVector.fromArray(S, cdfs, j)), FloatVector.fromArray(S, dx, i)).intoArray(dx, i);
        }
    }

    // Φ(x) = ½ erfc(−x/√2): erfc(a) = t·e^(−a² + P(t)), t = 1/(1 + a/2), Numerical Recipes' fit (ScalarKernels.erf), in float
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0), INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);
    private static final float[] ERFC_POLY = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f,
            0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};

    /** The standard normal CDF Φ(x), relative error about 1e-7 where Φ is not tiny. */
    private static FloatVector cdf(FloatVector x) {
        FloatVector a = x.abs().mul((float) INV_SQRT2), one = FloatVector.broadcast(S, 1f);
        FloatVector t = one.div(a.fma(FloatVector.broadcast(S, 0.5f), one));
        FloatVector p = FloatVector.broadcast(S, ERFC_POLY[0]);
        for (int i = 1; i < ERFC_POLY.length; i++) p = p.fma(t, FloatVector.broadcast(S, ERFC_POLY[i]));
        FloatVector halfErfc = t.mul(exp(a.neg().fma(a, p))).mul(0.5f);             // ½ erfc(|x|/√2) = Φ(−|x|)
        return one.sub(halfErfc).blend(halfErfc, x.lt(0f));
    }

    @Override
    public void scale(float[] x, int off, int n, float s) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) FloatVector.fromArray(S, x, off + i).mul(sv).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }
}
