package dev.lora4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.kernels.QuantizedActivation.Kind;
import dev.lora4j.tensor.Nf4;
import dev.lora4j.tensor.Q4K;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q5K;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q6K;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.WeightStorage;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The activation quantizers against hand-computed blocks and llama.cpp's definitions: Q8_0 as ggml-cpu's AVX2
 * {@code quantize_row_q8_0} (d = amax/127 stored as float16, q = x·(127/amax) rounded half to even), Q8_K as
 * {@code quantize_row_q8_K_ref} (iscale = −127/max with max the first value of largest magnitude, q = nearest_int, d =
 * 1/iscale, sums of 16).
 */
class QuantizedActivationTest {

    @Test
    void q8_0BlockWhoseMaximumIs127StepsIsExact() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j * 37 % 255 - 127) / 8f;               // multiples of 1/8 in [−127/8, 127/8]
        x[5] = 127 / 8f;
        QuantizedActivation a = new QuantizedActivation().quantize(x, 0, 32, Kind.Q8_0);
        assertEquals(0.125f, a.scales()[0], "d = amax/127 = 1/8, exact in float16");
        for (int j = 0; j < 32; j++) assertEquals(x[j] * 8, a.values()[j], "value " + j);
    }

    @Test
    void q8_0RoundsHalvesToEvenAndStoresTheScaleInFloat16() {
        float[] x = new float[64];
        x[0] = -127f;                                                                // negative maximum: d = 1, id = 1
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        x[4] = 0.5f;
        x[5] = 126.49f;
        x[32] = 1f;                                                                  // second block: amax 1, d = 1/127
        x[33] = -0.5f;                                                               // −63.5 exactly
        QuantizedActivation a = new QuantizedActivation().quantize(x, 0, 64, Kind.Q8_0);
        assertEquals(1f, a.scales()[0]);
        assertEquals(-127, a.values()[0]);
        assertEquals(2, a.values()[1], "2.5 rounds to even (roundf would give 3)");
        assertEquals(4, a.values()[2]);
        assertEquals(-2, a.values()[3]);
        assertEquals(0, a.values()[4]);
        assertEquals(126, a.values()[5]);
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(1f / 127)), a.scales()[1], "d rounded to float16");
        assertTrue(a.scales()[1] != 1f / 127, "the float16 rounding is visible at 1/127");
        assertEquals(127, a.values()[32]);
        assertEquals(-64, a.values()[33], "−63.5 rounds to even");
    }

    @Test
    void zeroBlocksQuantizeToZero() {
        float[] x = new float[256 + 32];
        QuantizedActivation a = new QuantizedActivation();
        float[] before = new float[256];
        java.util.Arrays.fill(before, 3f);
        a.quantize(before, 0, 256, Kind.Q8_K);                                       // what the reused arrays held
        a.quantize(x, 0, 256, Kind.Q8_K);
        assertEquals(0f, a.scales()[0]);
        for (int j = 0; j < 256; j++) assertEquals(0, a.values()[j]);
        for (int g = 0; g < 16; g++) assertEquals(0, a.sums()[g]);
        a.quantize(x, 256, 32, Kind.Q8_0);
        assertEquals(0f, a.scales()[0]);
        for (int j = 0; j < 32; j++) assertEquals(0, a.values()[j]);
    }

    @Test
    void q8KScaleHasTheOppositeSignOfTheFirstLargestValue() {
        float[] x = new float[256];
        x[0] = 3f;                                                                   // iscale = −127/254 = −0.5
        x[1] = 1f;
        x[2] = -5f;
        x[7] = 254f;                                                                 // the maximum, positive
        x[9] = -254f;                                                                // as large, but not the first
        x[20] = 0.9f;
        QuantizedActivation a = new QuantizedActivation().quantize(x, 0, 256, Kind.Q8_K);
        assertEquals(-2f, a.scales()[0], "d = 1/iscale");
        assertEquals(-2, a.values()[0], "−1.5 rounds to even");
        assertEquals(0, a.values()[1], "−0.5 rounds to even: 0");
        assertEquals(2, a.values()[2], "2.5 rounds to even");
        assertEquals(-127, a.values()[7]);
        assertEquals(127, a.values()[9]);
        assertEquals(0, a.values()[20]);
        assertEquals(-2 + 0 + 2 - 127 + 127, a.sums()[0], "sum of values 0..15");
        assertEquals(0, a.sums()[1]);

        x[7] = -254f;                                                                // now the first maximum is negative
        x[9] = 254f;
        a.quantize(x, 0, 256, Kind.Q8_K);
        assertEquals(2f, a.scales()[0]);
        assertEquals(2, a.values()[0], "1.5 rounds to even");
        assertEquals(-127, a.values()[7]);
        assertEquals(127, a.values()[9]);
    }

    /** A NaN or an infinity in x makes the products with its block NaN, in both kinds and both kernel sets. */
    @Test
    void nonFiniteActivationsGiveNaN() {
        SplittableRandom rnd = new SplittableRandom(9);
        int k = 512;
        WeightStorage q4k = new Q4K(CompactOneRowTest.blocks(rnd, 2 * k, Q4K.BLOCK, Q4K.BLOCK_BYTES, 0, 2), 2 * k);
        WeightStorage q8 = new Q8_0(CompactOneRowTest.blocks(rnd, 2 * k, Q8_0.BLOCK, Q8_0.BLOCK_BYTES, 0), 2 * k);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] x = new float[k];
            for (int i = 0; i < k; i++) x[i] = (float) rnd.nextGaussian();
            x[300] = bad;
            for (Kernels kn : new Kernels[] {new ScalarKernels(), KernelProvider.get()}) {
                for (WeightStorage w : new WeightStorage[] {q4k, q8}) {
                    float[] c = new float[2];
                    kn.gemmABt(c, 0, 2, x, 0, k, w, 0, k, 1, 2, k, false);
                    assertTrue(Float.isNaN(c[0]) && Float.isNaN(c[1]), kn.name() + " " + w.getClass().getSimpleName() + " with " + bad);
                }
            }
        }
    }

    /** Random rows: x̂ = q·d is within half a step of x (plus Q8_0's float16 rounding of d), sums are the quants' sums. */
    @Test
    void quantizedValuesAreWithinHalfAStep() {
        SplittableRandom rnd = new SplittableRandom(3);
        QuantizedActivation a = new QuantizedActivation();
        for (Kind kind : Kind.values()) {
            for (int n : new int[] {256, 4864}) {
                float[] x = new float[n + 5];
                for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
                a.quantize(x, 5, n, kind);
                assertEquals(n, a.length());
                for (int b = 0; b < n / kind.block; b++) {
                    float amax = 0;
                    for (int j = 0; j < kind.block; j++) amax = Math.max(amax, Math.abs(x[5 + b * kind.block + j]));
                    float d = a.scales()[b], exact = amax / 127;
                    assertEquals(exact, Math.abs(d), exact * (kind == Kind.Q8_0 ? 0x1p-11 : 0x1p-22), kind + " block " + b + " scale");
                    for (int j = 0; j < kind.block; j++) {
                        int i = b * kind.block + j;
                        assertTrue(Math.abs(a.values()[i]) <= 127);
                        double step = Math.abs(x[5 + i] - (double) a.values()[i] * d);
                        assertTrue(step <= 0.50001 * exact + Math.abs(a.values()[i]) * Math.abs(Math.abs(d) - exact),
                                kind + " value " + i + ": " + x[5 + i] + " vs " + a.values()[i] + "·" + d);
                    }
                }
                for (int g = 0; kind == Kind.Q8_K && g < n / 16; g++) {
                    int s = 0;
                    for (int j = 0; j < 16; j++) s += a.values()[16 * g + j];
                    assertEquals(s, a.sums()[g]);
                }
            }
        }
    }

    @Test
    void kindsFollowLlamaCppsVecDotTypes() {
        int n = 256;
        assertEquals(Kind.Q8_0, QuantizedActivation.kindFor(new Q8_0(new byte[n / 32 * 34], n)));
        assertEquals(Kind.Q8_0, QuantizedActivation.kindFor(new Q4_0(new byte[n / 32 * 18], n)));
        assertEquals(Kind.Q8_0, QuantizedActivation.kindFor(new Q5_0(new byte[n / 32 * 22], n)));
        assertEquals(Kind.Q8_K, QuantizedActivation.kindFor(new Q4K(new byte[144], n)));
        assertEquals(Kind.Q8_K, QuantizedActivation.kindFor(new Q5K(new byte[176], n)));
        assertEquals(Kind.Q8_K, QuantizedActivation.kindFor(new Q6K(new byte[210], n)));
        assertNull(QuantizedActivation.kindFor(Nf4.quantize(new float[n])));
        assertNull(QuantizedActivation.kindFor(WeightStorage.Bf16.of(new float[n])));
        assertNull(QuantizedActivation.kindFor(new WeightStorage.F32(new float[n])));
        WeightStorage q4k = new Q4K(new byte[4 * 144], 4 * n);
        assertTrue(QuantizedActivation.covers(q4k, 256, 512, 512));
        assertTrue(!QuantizedActivation.covers(q4k, 32, 512, 256), "rows from mid-block");
        assertTrue(!QuantizedActivation.covers(q4k, 0, 288, 256), "a stride of part blocks");
        assertTrue(!QuantizedActivation.covers(q4k, 0, 512, 288), "rows of part blocks");
        assertThrows(IllegalArgumentException.class, () -> new QuantizedActivation().quantize(new float[40], 0, 40, Kind.Q8_0));
    }
}
