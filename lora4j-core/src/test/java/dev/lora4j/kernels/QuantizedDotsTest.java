package dev.lora4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;

/**
 * Batch-1 products on ggml block weights (m = 1, whole-block rows): llama.cpp's integer dot products on the activation
 * quantized to Q8_0 or Q8_K. Checked against a double-precision sum of the dequantized weights times the dequantized
 * quantized activations, which the kernels must meet to float rounding (the integer parts are exact), and against the
 * float product with the unquantized activations, within the quantization error Σ|w|·|x − x̂| (half a step of x per
 * value, plus Q8_0's float16 rounding of the step). Row lengths 32 to 4864, offset rows and x, accumulating; the Vector
 * API and the scalar kernels (the suite runs again without the Vector API module).
 */
class QuantizedDotsTest {
    private final List<Kernels> kernels = List.of(new ScalarKernels(), KernelProvider.get());

    private record Format(String name, int block, int[] lengths, BiFunction<SplittableRandom, Integer, WeightStorage> make) {}

    private static final int[] SMALL_BLOCKS = {32, 256, 896, 4864}, K_BLOCKS = {256, 768, 4864};

    private static final List<Format> FORMATS = List.of(
            new Format("Q8_0", Q8_0.BLOCK, SMALL_BLOCKS, (r, n) -> new Q8_0(CompactOneRowTest.blocks(r, n, Q8_0.BLOCK, Q8_0.BLOCK_BYTES, 0), n)),
            new Format("Q4_0", Q4_0.BLOCK, SMALL_BLOCKS, (r, n) -> new Q4_0(CompactOneRowTest.blocks(r, n, Q4_0.BLOCK, Q4_0.BLOCK_BYTES, 0), n)),
            new Format("Q5_0", Q5_0.BLOCK, SMALL_BLOCKS, (r, n) -> new Q5_0(CompactOneRowTest.blocks(r, n, Q5_0.BLOCK, Q5_0.BLOCK_BYTES, 0), n)),
            new Format("Q4_K", Q4K.BLOCK, K_BLOCKS, (r, n) -> new Q4K(CompactOneRowTest.blocks(r, n, Q4K.BLOCK, Q4K.BLOCK_BYTES, 0, 2), n)),
            new Format("Q5_K", Q5K.BLOCK, K_BLOCKS, (r, n) -> new Q5K(CompactOneRowTest.blocks(r, n, Q5K.BLOCK, Q5K.BLOCK_BYTES, 0, 2), n)),
            new Format("Q6_K", Q6K.BLOCK, K_BLOCKS, (r, n) -> new Q6K(CompactOneRowTest.blocks(r, n, Q6K.BLOCK, Q6K.BLOCK_BYTES, 208), n)));

    @Test
    void integerBlockDotsAreTheProductWithTheQuantizedActivation() {
        SplittableRandom rnd = new SplittableRandom(23);
        for (Format f : FORMATS) {
            for (int k : f.lengths()) {
                int n = k > 1000 ? 2 : 5, ldb = k + f.block(), bOff = 2 * f.block();
                WeightStorage w = f.make().apply(rnd, bOff + n * ldb);
                float[] wide = new float[w.size()];
                w.widen(0, wide, 0, wide.length);
                float[] a = new float[k + 3];
                for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
                QuantizedActivation x = new QuantizedActivation().quantize(a, 3, k, QuantizedActivation.kindFor(w));
                float[] c0 = new float[n + 1];
                for (int j = 0; j < c0.length; j++) c0[j] = (float) rnd.nextGaussian();
                for (Kernels kn : kernels) {
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] c = c0.clone();
                        kn.gemmABt(c, 1, n, a, 3, k, w, bOff, ldb, 1, n, k, acc);
                        for (int j = 0; j < n; j++) {
                            String where = kn.name() + " " + f.name() + " k=" + k + " row " + j + " acc=" + acc;
                            check(c[1 + j], acc ? c0[1 + j] : 0f, wide, bOff + j * ldb, a, 3, x, k, where);
                        }
                        assertTrue(c[0] == c0[0], "the column before is not written");
                    }
                }
            }
        }
    }

    /** got against Σ w·x̂ (to float rounding) and Σ w·x (to the quantization error), both in double precision. */
    private static void check(float got, float c, float[] w, int wOff, float[] a, int aOff, QuantizedActivation x, int k, String where) {
        int block = x.kind().block;
        double quantized = 0, magnitude = Math.abs(c), exact = 0, exactMagnitude = Math.abs(c), bound = 0;
        for (int i = 0; i < k; i++) {
            double xq = (double) x.values()[i] * x.scales()[i / block], wi = w[wOff + i];
            quantized += wi * xq;
            magnitude += Math.abs(wi * xq);
            exactMagnitude += Math.abs(wi * a[aOff + i]);
            exact += wi * a[aOff + i];
            float amax = 0;
            for (int j = i / block * block; j < i / block * block + block; j++) amax = Math.max(amax, Math.abs(a[aOff + j]));
            float step = amax / 127;                                                   // x̂ within half a step of x,
            bound += Math.abs(wi) * (0.50001 * step + Math.abs(x.values()[i]) * Math.abs(Math.abs(x.scales()[i / block]) - step));
        }                                                                              // plus q times d's rounding
        assertTrue(Math.abs(got - (c + quantized)) <= 1e-5 * magnitude, where + ": " + got + " vs Σ w·x̂ = " + (c + quantized));
        assertTrue(Math.abs(got - (c + exact)) <= bound + 1e-5 * exactMagnitude,
                where + ": " + got + " vs Σ w·x = " + (c + exact) + ", farther than the quantization error " + bound);
    }

    /** A product split over threads quantizes x in every part, to the same values: the bits of one call. */
    @Test
    void parallelProductIsTheOneCallProduct() {
        SplittableRandom rnd = new SplittableRandom(29);
        for (Format f : List.of(FORMATS.get(0), FORMATS.get(3))) {
            int k = 2 * f.block() * (f.block() == 32 ? 8 : 1), n = 1000;
            WeightStorage w = f.make().apply(rnd, n * k);
            float[] a = new float[k];
            for (int i = 0; i < k; i++) a[i] = (float) rnd.nextGaussian();
            float[] want = new float[n], got = new float[n];
            KernelProvider.get().gemmABt(want, 0, n, a, 0, k, w, 0, k, 1, n, k, false);
            Gemm.abt(got, 0, n, a, 0, k, w, 0, k, 1, n, k, false);
            assertArrayEquals(want, got, f.name());
        }
    }

    /**
     * Only one-row products quantize: a product of several rows split over threads by rows (a narrow output) never
     * leaves one row alone in a part, so every row is the widened product, bit for bit.
     */
    @Test
    void productsOfSeveralRowsStayExact() {
        SplittableRandom rnd = new SplittableRandom(31);
        int k = 512, n = 128;
        WeightStorage w = FORMATS.get(0).make().apply(rnd, n * k);
        float[] wide = new float[n * k];
        w.widen(0, wide, 0, wide.length);
        for (int m : new int[] {2, 9, 17, 33}) {
            float[] a = new float[m * k];
            for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
            float[] want = new float[m * n], got = new float[m * n];
            Gemm.abt(want, 0, n, a, 0, k, wide, 0, k, m, n, k, false);
            Gemm.abt(got, 0, n, a, 0, k, w, 0, k, m, n, k, false);
            assertArrayEquals(want, got, "m=" + m);
        }
    }
}
