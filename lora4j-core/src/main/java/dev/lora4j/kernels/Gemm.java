package dev.lora4j.kernels;

import dev.lora4j.tensor.WeightStorage;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The one place matrix products are run: splits C into blocks of rows (or of columns when C has few
 * rows) and runs the chosen {@link Kernels} on them in parallel over all cores. Same argument order
 * and meaning as the {@link Kernels} methods. Threads: {@code -Dlora4j.threads=N}, default all cores.
 */
public final class Gemm {
    private static final int THREADS = Integer.getInteger("lora4j.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS);
    /** Below this many multiply-adds a product runs on the calling thread. */
    private static final long PARALLEL_MIN_FLOPS = 1L << 16;
    /** Below twice this many values an elementwise op runs on the calling thread. */
    private static final int PARALLEL_MIN_VALUES = 1 << 14;

    private Gemm() {}

    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body(i)} for i in [0, n) over all cores; the way ops parallelise over heads or rows. The calling
     * thread takes parts too, with up to threads − 1 pool workers, each taking the next part until none is left: a
     * product wakes one worker instead of handing all its work to the pool and waiting (decoding runs hundreds of
     * small products a token). Which thread runs a part does not change what it computes.
     */
    public static void parallelFor(int n, IntConsumer body) {
        if (n <= 1 || THREADS == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable parts = () -> {
            for (int i; (i = next.getAndIncrement()) < n; ) body.accept(i);
        };
        ForkJoinTask<?>[] helpers = new ForkJoinTask<?>[Math.min(THREADS, n) - 1];
        for (int h = 0; h < helpers.length; h++) helpers[h] = POOL.submit(parts);
        RuntimeException failure = null;
        try {
            parts.run();
        } catch (RuntimeException e) {
            failure = e;
            next.set(n);                                     // the helpers take no further part
        }
        for (ForkJoinTask<?> h : helpers) {                  // every part has ended before this returns
            try {
                h.join();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    /** A run of an elementwise op over the values [from, to). */
    public interface Range {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, n) cut into about 4 runs per thread, each a multiple of 64 values and at least
     * {@value #PARALLEL_MIN_VALUES} (elementwise ops on activations); smaller n on the calling thread.
     */
    public static void parallelRanges(int n, Range body) {
        if (THREADS == 1 || n < 2 * PARALLEL_MIN_VALUES) {
            body.run(0, n);
            return;
        }
        int chunk = Math.max(PARALLEL_MIN_VALUES, ((n + 4 * THREADS - 1) / (4 * THREADS) + 63) / 64 * 64);
        parallelFor((n + chunk - 1) / chunk, p -> body.run(p * chunk, Math.min(n, p * chunk + chunk)));
    }

    /** C[m, n] (+)= A[m, k] · B[n, k]ᵀ. */
    public static void abt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                           int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        split(m, n, k, (i0, i1, j0, j1) -> K.gemmABt(c, cOff + i0 * ldc + j0, ldc, a, aOff + i0 * lda, lda,
                b, bOff + j0 * ldb, ldb, i1 - i0, j1 - j0, k, accumulate));
    }

    /**
     * C[m, n] (+)= A[m, k] · B[n, k]ᵀ with B a weight in any storage (widened exactly as it is read; for m = 1 on ggml's
     * block formats, the product with A's row quantized as llama.cpp quantizes it: see {@link Kernels#gemmABt}).
     */
    public static void abt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                           int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        split(m, n, k, (i0, i1, j0, j1) -> K.gemmABt(c, cOff + i0 * ldc + j0, ldc, a, aOff + i0 * lda, lda,
                b, bOff + j0 * ldb, ldb, i1 - i0, j1 - j0, k, accumulate));
    }

    /** C[m, n] (+)= A[m, k] · B[k, n] with B a weight in any storage (widened exactly as it is read). */
    public static void ab(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                          int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        split(m, n, k, (i0, i1, j0, j1) -> K.gemmAB(c, cOff + i0 * ldc + j0, ldc, a, aOff + i0 * lda, lda,
                b, bOff + j0, ldb, i1 - i0, j1 - j0, k, accumulate));
    }

    /** C[m, n] (+)= A[m, k] · B[k, n]. */
    public static void ab(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                          int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        split(m, n, k, (i0, i1, j0, j1) -> K.gemmAB(c, cOff + i0 * ldc + j0, ldc, a, aOff + i0 * lda, lda,
                b, bOff + j0, ldb, i1 - i0, j1 - j0, k, accumulate));
    }

    /** C[m, n] (+)= A[k, m]ᵀ · B[k, n]. */
    public static void atb(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                           int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        split(m, n, k, (i0, i1, j0, j1) -> K.gemmAtB(c, cOff + i0 * ldc + j0, ldc, a, aOff + i0, lda,
                b, bOff + j0, ldb, i1 - i0, j1 - j0, k, accumulate));
    }

    /**
     * C[m, n] (+)= A[m, k] · B[n, k]ᵀ computed row by row, each row as a one-row product (the decoding kernel, which on
     * ggml's block formats quantizes the row as llama.cpp does: {@link Kernels#gemmABt}): a row of C has the same bits as
     * the product of that row of A alone, whatever the other rows, so sequences decoded together in one batch get exactly
     * what each gets decoded alone. Wide outputs are cut into column blocks over the threads, and
     * every row goes through a block while it is in cache, so B is read from memory once for all rows.
     */
    public static void rowsAbt(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                               int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        splitRows(m, n, k, (i0, i1, j0, j1) -> {
            for (int i = i0; i < i1; i++) {
                K.gemmABt(c, cOff + i * ldc + j0, ldc, a, aOff + i * lda, lda, b, bOff + j0 * ldb, ldb, 1, j1 - j0, k, accumulate);
            }
        });
    }

    /** C[m, n] (+)= A[m, k] · B[k, n] row by row, as {@link #rowsAbt}: each row of C as the product of that row alone. */
    public static void rowsAb(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, WeightStorage b, int bOff, int ldb,
                              int m, int n, int k, boolean accumulate) {
        Kernels K = KernelProvider.get();
        splitRows(m, n, k, (i0, i1, j0, j1) -> {
            for (int i = i0; i < i1; i++) {
                K.gemmAB(c, cOff + i * ldc + j0, ldc, a, aOff + i * lda, lda, b, bOff + j0, ldb, 1, j1 - j0, k, accumulate);
            }
        });
    }

    private interface Block {
        void run(int i0, int i1, int j0, int j1);
    }

    /**
     * The blocks of a row-by-row product: columns cut as {@link #split} cuts them (multiples of 64, so a one-row kernel's
     * vector lanes fall on the same columns as for one row alone), each block running every row; outputs too narrow for
     * that are cut by rows.
     */
    private static void splitRows(int m, int n, int k, Block block) {
        if (THREADS == 1 || (long) m * n * k < PARALLEL_MIN_FLOPS || (n < 256 && m == 1)) {
            block.run(0, m, 0, n);
            return;
        }
        if (n < 256) {
            parallelFor(m, i -> block.run(i, i + 1, 0, n));
            return;
        }
        int chunk = Math.max(64, ((n + 4 * THREADS - 1) / (4 * THREADS) + 63) / 64 * 64);
        int parts = (n + chunk - 1) / chunk;
        parallelFor(parts, p -> block.run(0, m, p * chunk, Math.min(n, p * chunk + chunk)));
    }

    /**
     * Cuts the (m, n) output into about 4 blocks per thread. Wide outputs are cut along n in multiples of
     * 64 columns, so every block packs only its own columns of B and A is shared; narrow ones (LoRA's r
     * columns) along m, never leaving one row of a product of several alone in a block (a one-row product on a ggml
     * block weight quantizes its row: {@link Kernels#gemmABt}).
     */
    private static void split(int m, int n, int k, Block block) {
        if (THREADS == 1 || (long) m * n * k < PARALLEL_MIN_FLOPS) {
            block.run(0, m, 0, n);
            return;
        }
        boolean byColumns = n >= 256;
        int len = byColumns ? n : m, quantum = byColumns ? 64 : 8;
        int chunk = Math.max(quantum, ((len + 4 * THREADS - 1) / (4 * THREADS) + quantum - 1) / quantum * quantum);
        int parts = (len + chunk - 1) / chunk - (!byColumns && len > chunk && len % chunk == 1 ? 1 : 0);
        parallelFor(parts, p -> {
            int s = p * chunk, e = p == parts - 1 ? len : s + chunk;
            if (byColumns) block.run(0, m, s, e);
            else block.run(s, e, 0, n);
        });
    }
}
