package dev.lora4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.tensor.Nf4;
import dev.lora4j.tensor.Q4K;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q5K;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q6K;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.WeightStorage;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Decoding's one-row product (m = 1) on every compact weight format against the reference: the weight dequantized
 * first ({@link WeightStorage#widen}), then the same kernels' float32 product. Where the product takes the exact path
 * (bfloat16, float16, NF4, rows that do not start on a block boundary, and every format with {@code exactDots}) the
 * compact kernels widen in registers but sum in the float32 kernel's order, so the tolerance is zero: any wrong nibble,
 * scale or lane fails. Whole-block rows of ggml's block formats instead quantize the activation row as llama.cpp does
 * ({@link QuantizedActivation}); there the result is the double-precision product with the quantized row, to float
 * rounding (QuantizedDotsTest checks those products in depth). Also close to a double-precision sum, so that the
 * equality is not between two wrong results. Row counts and depths with odd tails, whole-block rows and offsets that
 * start mid-block (the widened fallback), strided and accumulating; both the Vector API and the scalar kernels (the
 * suite runs again without the Vector API module).
 */
class CompactOneRowTest {
    private final List<Kernels> kernels = List.of(new ScalarKernels(), KernelProvider.get());
    private final List<Kernels> exact = List.of(new ScalarKernels(true), KernelProvider.lookup(true));
    private final List<Kernels> both = Stream.concat(kernels.stream(), exact.stream()).toList();

    /** A format's random storage of n values (n a whole number of its blocks), its scales finite and moderate. */
    private record Format(String name, int block, BiFunction<SplittableRandom, Integer, WeightStorage> make) {}

    private static final List<Format> FORMATS = List.of(
            new Format("BF16", 1, (r, n) -> WeightStorage.Bf16.of(gaussian(r, n))),
            new Format("F16", 1, CompactOneRowTest::f16),
            new Format("Q8_0", Q8_0.BLOCK, (r, n) -> new Q8_0(blocks(r, n, Q8_0.BLOCK, Q8_0.BLOCK_BYTES, 0), n)),
            new Format("Q4_0", Q4_0.BLOCK, (r, n) -> new Q4_0(blocks(r, n, Q4_0.BLOCK, Q4_0.BLOCK_BYTES, 0), n)),
            new Format("Q5_0", Q5_0.BLOCK, (r, n) -> new Q5_0(blocks(r, n, Q5_0.BLOCK, Q5_0.BLOCK_BYTES, 0), n)),
            new Format("Q4_K", Q4K.BLOCK, (r, n) -> new Q4K(blocks(r, n, Q4K.BLOCK, Q4K.BLOCK_BYTES, 0, 2), n)),
            new Format("Q5_K", Q5K.BLOCK, (r, n) -> new Q5K(blocks(r, n, Q5K.BLOCK, Q5K.BLOCK_BYTES, 0, 2), n)),
            new Format("Q6_K", Q6K.BLOCK, (r, n) -> new Q6K(blocks(r, n, Q6K.BLOCK, Q6K.BLOCK_BYTES, 208), n)),
            new Format("NF4", Nf4.BLOCK, (r, n) -> Nf4.quantize(gaussian(r, n))));

    @Test
    void oneRowProductIsTheProductWithTheDequantizedWeightBitForBitOrWithTheQuantizedRow() {
        SplittableRandom rnd = new SplittableRandom(17);
        for (Format f : FORMATS) {
            int blk = Math.max(f.block(), 32);
            for (int blocks : new int[] {1, 2, 3, 5}) {
                for (int n : new int[] {1, 3, 17, 64}) {
                    int k = blocks * blk;
                    // whole-block rows from a whole-block offset (the register path), then rows that start mid-block
                    check(f, rnd, n, k, k, 2 * blk, "aligned");
                    check(f, rnd, n, k - 5, k, 2 * blk + 3, "mid-block");
                    check(f, rnd, n, k, k + blk, blk, "strided");
                }
            }
        }
    }

    /**
     * C[1, n] (+)= a · B[n, kk]ᵀ with B's rows ldb apart from bOff, compact vs widened: the same bits on the exact path,
     * else the product with the quantized row.
     */
    private void check(Format f, SplittableRandom rnd, int n, int kk, int ldb, int bOff, String what) {
        int size = roundUp(bOff + (n - 1) * ldb + kk + ldb, Math.max(f.block(), 32));
        WeightStorage w = f.make().apply(rnd, size);
        float[] wide = new float[size];
        w.widen(0, wide, 0, size);
        float[] a = gaussian(rnd, kk + 3), c0 = gaussian(rnd, n + 4);
        boolean quantizes = QuantizedActivation.covers(w, bOff, ldb, kk);
        QuantizedActivation x = quantizes ? new QuantizedActivation().quantize(a, 3, kk, QuantizedActivation.kindFor(w)) : null;
        for (Kernels k : both) {
            boolean exactPath = !quantizes || exact.contains(k);
            for (boolean acc : new boolean[] {false, true}) {
                float[] want = c0.clone(), got = c0.clone();
                k.gemmABt(want, 2, n, a, 3, kk, wide, bOff, ldb, 1, n, kk, acc);
                k.gemmABt(got, 2, n, a, 3, kk, w, bOff, ldb, 1, n, kk, acc);
                String where = k.name() + (exact.contains(k) ? " exact " : " ") + f.name() + " " + what + " n=" + n + " k=" + kk + " acc=" + acc;
                if (exactPath) assertArrayEquals(want, got, where);
                for (int j = 0; j < n; j++) {
                    double s = acc ? c0[2 + j] : 0, mag = Math.abs(s);
                    for (int p = 0; p < kk; p++) {
                        double xp = exactPath ? a[3 + p] : (double) x.values()[p] * x.scales()[p / x.kind().block];
                        s += xp * wide[bOff + j * ldb + p];
                        mag += Math.abs(xp * wide[bOff + j * ldb + p]);
                    }
                    double tolerance = exactPath ? 1e-6 * mag + 1e-6 : 1e-5 * mag;
                    assertTrue(Math.abs(got[2 + j] - s) <= tolerance, where + " column " + j + ": " + got[2 + j] + " vs " + s);
                }
            }
        }
    }

    /** x·W for W stored (in, out) (GPT-2's Conv1D) one row at a time: the same bits as on the widened weight, always. */
    @Test
    void oneRowProductAlongStoredRowsIsTheWidenedProduct() {
        SplittableRandom rnd = new SplittableRandom(19);
        for (Format f : FORMATS) {
            for (int n : new int[] {1, 37, 256, 300}) {
                int k = 7, ldb = roundUp(n, Math.max(f.block(), 32)), size = roundUp(64 + ldb * (k + 1), Math.max(f.block(), 32));
                WeightStorage w = f.make().apply(rnd, size);
                float[] wide = new float[size];
                w.widen(0, wide, 0, size);
                float[] a = gaussian(rnd, k), c0 = gaussian(rnd, n);
                for (Kernels kn : both) {
                    float[] want = c0.clone(), got = c0.clone();
                    kn.gemmAB(want, 0, n, a, 0, k, wide, 64, ldb, 1, n, k, true);
                    kn.gemmAB(got, 0, n, a, 0, k, w, 64, ldb, 1, n, k, true);
                    assertArrayEquals(want, got, kn.name() + " " + f.name() + " AB n=" + n);
                }
            }
        }
    }

    /**
     * Every finite float16 bit pattern (subnormals, zeros of both signs) widened as Float.float16ToFloat does: a one-hot
     * row of 32 picks value p out of each 32-value row, through the vector loop.
     */
    @Test
    void everyFiniteFloat16Widens() {
        short[] h = new short[0x10000 - 2 * 0x400];
        int count = 0;
        for (int bits = 0; bits < 0x10000; bits++) if ((bits & 0x7C00) != 0x7C00) h[count++] = (short) bits;
        WeightStorage.F16 w = new WeightStorage.F16(h);
        int rows = h.length / 32;
        for (Kernels k : kernels) {
            for (int p = 0; p < 32; p++) {
                float[] a = new float[32], c = new float[rows];
                a[p] = 1f;
                k.gemmABt(c, 0, rows, a, 0, 32, w, 0, 32, 1, rows, 32, false);
                for (int j = 0; j < rows; j++) {
                    float want = Float.float16ToFloat(h[j * 32 + p]);
                    assertTrue(Float.floatToRawIntBits(want) == Float.floatToRawIntBits(c[j]) || want == 0 && c[j] == 0,
                            k.name() + " F16 " + Integer.toHexString(h[j * 32 + p] & 0xFFFF) + ": " + c[j] + " vs " + want);
                }
            }
        }
    }

    private static int roundUp(int x, int q) {
        return (x + q - 1) / q * q;
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    private static WeightStorage f16(SplittableRandom rnd, int n) {
        short[] h = new short[n];
        for (int i = 0; i < n; i++) {
            int bits;
            do bits = rnd.nextInt(0x10000); while ((bits & 0x7C00) == 0x7C00 || (bits & 0x7C00) > 0x5000);   // finite, below 64
            h[i] = (short) bits;
        }
        return new WeightStorage.F16(h);
    }

    /** Random block bytes with the float16 scales at {@code scaleAt} (within each block) set to random moderate values. */
    static byte[] blocks(SplittableRandom rnd, int n, int block, int blockBytes, int... scaleAt) {
        byte[] b = new byte[n / block * blockBytes];
        rnd.nextBytes(b);
        for (int blk = 0; blk < n / block; blk++) {
            for (int at : scaleAt) {
                short h = Float.floatToFloat16((float) ((rnd.nextDouble() * 2 - 1) * 0.05));
                b[blk * blockBytes + at] = (byte) h;
                b[blk * blockBytes + at + 1] = (byte) (h >> 8);
            }
        }
        return b;
    }
}
