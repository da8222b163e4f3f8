package dev.lora4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.kernels.ScalarKernels;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The block formats on blocks computed by hand from ggml-common.h / ggml-quants.c (one value per packing rule:
 * low and high nibbles, the 6-bit scales of sub-blocks 4–7 whose top bits sit in bytes 0–7, Q5_K's fifth bit, Q6_K's
 * two high bits and signed scales), NF4 against bitsandbytes' code book and thresholds, and every GEMM form on a
 * quantized B against the same GEMM on B widened (bit for bit).
 */
class BlockStorageTest {
    private static float[] widen(WeightStorage s) {
        float[] v = new float[s.size()];
        s.widen(0, v, 0, v.length);
        return v;
    }

    @Test
    void q8_0ByHand() {
        byte[] b = new byte[Q8_0.BLOCK_BYTES];
        b[1] = 0x38;                                            // d = fp16 0x3800 = 0.5
        b[2] = (byte) -128;
        b[3] = 127;
        b[4] = 3;
        float[] v = widen(new Q8_0(b, 32));
        assertEquals(-64f, v[0]);
        assertEquals(63.5f, v[1]);
        assertEquals(1.5f, v[2]);
        assertEquals(0f, v[31]);
    }

    @Test
    void q4_0ByHand() {
        byte[] b = new byte[Q4_0.BLOCK_BYTES];
        b[1] = 0x40;                                            // d = 2
        b[2] = 0x1F;                                            // value 0: low nibble 15 → (15−8)·2; value 16: high nibble 1 → (1−8)·2
        b[3] = (byte) 0x80;                                     // value 1: 0 → −16; value 17: 8 → 0
        float[] v = widen(new Q4_0(b, 32));
        assertEquals(14f, v[0]);
        assertEquals(-14f, v[16]);
        assertEquals(-16f, v[1]);
        assertEquals(0f, v[17]);
        assertEquals(-16f, v[2]);                               // nibble 0 → −8·d
    }

    /** Q4_K's 12 scale bytes: sub-blocks 0–3 in the low 6 bits of bytes 0–3 (mins 4–7); 4–7 in bytes 8–11 plus top bits. */
    private static byte[] kScales(byte[] b) {
        b[1] = 0x3C;                                            // d = 1
        b[3] = 0x38;                                            // dmin = 0.5
        b[4] = 2;                                               // sub-block 0: scale 2
        b[8] = 3;                                               //              min 3
        b[5] = 0x41;                                            // sub-block 1: scale 1; top bits 01 → sub-block 5's scale + 16
        b[9] = (byte) 0x80;                                     // sub-block 1: min 0; top bits 10 → sub-block 5's min + 32
        b[13] = 0x21;                                           // sub-block 5: scale low 1, min low 2 → scale 17, min 34
        return b;
    }

    @Test
    void q4_KByHand() {
        byte[] b = kScales(new byte[Q4K.BLOCK_BYTES]);
        int qs = 16;
        b[qs] = 0x75;                                           // value 0 (sub-block 0, low nibble 5): 2·5 − 0.5·3; value 32 (sub-block 1, high 7): 1·7 − 0
        b[qs + 64] = 0x30;                                      // value 160 (sub-block 5, high nibble of qs[64] = 3): 17·3 − 0.5·34
        float[] v = widen(new Q4K(b, 256));
        assertEquals(8.5f, v[0]);
        assertEquals(7f, v[32]);
        assertEquals(34f, v[160]);
        assertEquals(-17f, v[161]);                             // q = 0: −dmin·m
    }

    @Test
    void q5_KByHand() {
        byte[] b = kScales(new byte[Q5K.BLOCK_BYTES]);
        int qh = 16, qs = 48;
        b[qs] = 0x05;
        b[qh] = 0x01;                                           // value 0: 5 + 16 (bit 0 of qh[0]) → 2·21 − 1.5
        b[qs + 1] = 0x20;
        b[qh + 1] = 0x02;                                       // value 33: high nibble 2 + 16 (bit 1 of qh[1]) → 1·18 − 0
        float[] v = widen(new Q5K(b, 256));
        assertEquals(40.5f, v[0]);
        assertEquals(18f, v[33]);
        assertEquals(2f * 0 - 1.5f, v[1]);
    }

    @Test
    void q6_KByHand() {
        byte[] b = new byte[Q6K.BLOCK_BYTES];
        int ql = 0, qh = 128, sc = 192;
        b[209] = 0x34;                                          // d = 0.25
        b[ql] = 0x0A;
        b[qh] = 0b10;                                           // value 0: (10 | 2 << 4) − 32 = 10, scale sc[0] = −3 → (0.25·−3)·10
        b[sc] = -3;
        b[ql + 72] = 0x50;                                      // value 200: half 1, quarter 2, l 8: high nibble of ql[64 + 8] = 5,
        b[qh + 40] = 0x30;                                      //   bits 4–5 of qh[32 + 8] = 3 → 53 − 32 = 21, scale sc[8 + 0 + 4] = 2
        b[sc + 12] = 2;
        float[] v = widen(new Q6K(b, 256));
        assertEquals(-7.5f, v[0]);
        assertEquals(10.5f, v[200]);
        assertEquals(24f, v[1]);                                // value 1: q = 0 − 32, value 0's scale: (0.25·−3)·−32
    }

    @Test
    void nf4ByHandAndRoundTrip() {
        byte[] b = new byte[Nf4.BLOCK_BYTES];
        int two = Float.floatToIntBits(2f);
        for (int k = 0; k < 4; k++) b[k] = (byte) (two >> 8 * k);
        b[4] = (byte) 0xF0;                                     // value 0: code 15 (high nibble) = 1.0; value 1: code 0 = −1.0
        b[5] = 0x78;                                            // values 2, 3: codes 7 (0.0), 8
        for (int j = 6; j < Nf4.BLOCK_BYTES; j++) b[j] = 0x77;
        float[] v = widen(new Nf4(b, 64));
        assertEquals(2f, v[0]);
        assertEquals(-2f, v[1]);
        assertEquals(0f, v[2]);
        assertEquals(0.07958029955625534f * 2f, v[3]);
        assertArrayEquals(b, Nf4.quantize(v).blocks(), "dequantized values quantize back to the same codes");

        SplittableRandom rnd = new SplittableRandom(3);
        float[] x = new float[64 * 20];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 64; i < 128; i++) x[i] = 0f;               // a block of zeros
        Nf4 q = Nf4.quantize(x);
        float[] y = widen(q);
        for (int blk = 0; blk < 20; blk++) {
            float absmax = 0;
            for (int j = 0; j < 64; j++) absmax = Math.max(absmax, Math.abs(x[blk * 64 + j]));
            for (int j = 0; j < 64; j++) {
                int i = blk * 64 + j;
                if (absmax == 0) {
                    assertEquals(0f, y[i]);
                    continue;
                }
                float n = x[i] * (1f / absmax);                 // the nearest code to the normalized value is the one chosen
                int best = 0;
                for (int c = 1; c < 16; c++) if (Math.abs(n - Nf4.CODE[c]) < Math.abs(n - Nf4.CODE[best])) best = c;
                assertEquals(Nf4.CODE[best] * absmax, y[i], "value " + i);
            }
        }
        assertArrayEquals(q.blocks(), Nf4.quantize(y).blocks(), "NF4 values are fixed points of the quantizer");
    }

    @Test
    void q8_0RoundsHalfAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f;                                            // d = 1, 1/d = 1
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49999997f;                                     // not a half: rounds to 0 (|x| + 0.5 rounds up in float)
        float[] y = widen(Q8_0.quantize(x));
        assertEquals(3f, y[1]);
        assertEquals(-3f, y[2]);
        assertEquals(0f, y[3]);
    }

    /**
     * Every GEMM form with a quantized B gives the product on B widened, bit for bit, in both kernel sets; but a one-row
     * x·Wᵀ on ggml's blocks quantizes the row as llama.cpp does (CompactOneRowTest, kernels.QuantizedDotsTest).
     */
    @Test
    void gemmOnQuantizedWeightsIsTheWidenedProduct() {
        SplittableRandom rnd = new SplittableRandom(5);
        Kernels[] kernels = {new ScalarKernels(), KernelProvider.get()};
        BiFunction<Integer, SplittableRandom, BlockStorage> q4k = (n, r) -> {
            byte[] b = new byte[n / 256 * Q4K.BLOCK_BYTES];
            for (int i = 0; i < b.length; i++) b[i] = (byte) r.nextInt(256);
            for (int blk = 0; blk < n / 256; blk++) {
                b[blk * Q4K.BLOCK_BYTES + 1] = 0x20;             // d, dmin ≈ 0.008: finite, moderate
                b[blk * Q4K.BLOCK_BYTES + 3] = 0x20;
            }
            return new Q4K(b, n);
        };
        for (Kernels k : kernels) {
            for (int m : new int[] {1, 5, 40, 130}) {
                for (int n : new int[] {3, 16, 40}) {
                    int kk = 512;
                    BlockStorage w = q4k.apply(n * kk, rnd);
                    float[] wf = widen(w), a = new float[m * kk];
                    for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
                    float[] c1 = new float[m * n], c2 = new float[m * n];
                    k.gemmABt(c1, 0, n, a, 0, kk, wf, 0, kk, m, n, kk, false);
                    k.gemmABt(c2, 0, n, a, 0, kk, w, 0, kk, m, n, kk, false);
                    if (m > 1) assertArrayEquals(c1, c2, k.name() + " ABt m=" + m + " n=" + n);
                    float[] g = new float[m * n];
                    for (int i = 0; i < g.length; i++) g[i] = (float) rnd.nextGaussian();
                    float[] d1 = new float[m * kk], d2 = new float[m * kk];   // dx = dy·W: B is W read along its rows, from mid-block columns
                    k.gemmAB(d1, 0, kk, g, 0, n, wf, 0, kk, m, kk, n, false);
                    k.gemmAB(d2, 0, kk, g, 0, n, w, 0, kk, m, kk, n, false);
                    assertArrayEquals(d1, d2, k.name() + " AB m=" + m + " n=" + n);
                }
            }
        }
        BlockStorage w = q4k.apply(300 * 512, rnd);
        float[] wf = widen(w), a = new float[130 * 512], c1 = new float[130 * 300], c2 = new float[130 * 300];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        Gemm.abt(c1, 0, 300, a, 0, 512, wf, 0, 512, 130, 300, 512, false);
        Gemm.abt(c2, 0, 300, a, 0, 512, w, 0, 512, 130, 300, 512, false);
        assertArrayEquals(c1, c2, "Gemm.abt split across threads");
        assertTrue(w.bytes() * 7 < 4L * w.size(), "Q4_K takes 4.5 bits a value");
    }
}
