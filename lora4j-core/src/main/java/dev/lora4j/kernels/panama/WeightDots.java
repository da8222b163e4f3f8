package dev.lora4j.kernels.panama;

import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.Nf4;
import dev.lora4j.tensor.Q4K;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q5K;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q6K;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.WeightStorage;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decoding's exact dot products on a compact weight: Σ_i x[i]·w[off + i] with w's bytes (bfloat16, float16, QLoRA's
 * NF4 blocks, and ggml's blocks when the kernels keep exact dots, else {@link QuantizedDots} takes those) widened in
 * registers, a vector of L values at a time, never copied out as floats — batch-1 decoding
 * reads each weight once per token, so what it costs is the bytes read (llama3.java's Q8_0/Q4_0 {@code dot}, here for
 * every format). Each value is widened with its format's own float formula ({@code decode} in the storage classes) and
 * the products are summed in exactly {@link PanamaKernels#dotStatic}'s order (two accumulators over 2L-value chunks, lanes
 * summed left to right), so the result has the bits of the dot product with the widened row: quantized weights compute
 * the same float32 arithmetic as before, only without the copy. The register path needs a byte vector of L lanes and
 * 2L dividing 32 (L = 8 or 16: AVX2, AVX-512) and a run of whole blocks (every row of a ggml tensor); anything else
 * widens the run into this thread's buffer first and takes {@link PanamaKernels#dotStatic}.
 */
final class WeightDots {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final boolean IN_REGISTERS = L == 8 || L == 16;
    private static final VectorSpecies<Byte> BYTES = IN_REGISTERS ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L)) : null;
    private static final VectorSpecies<Short> SHORTS = IN_REGISTERS ? VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L)) : null;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    private static final IntVector IOTA = IntVector.zero(INTS).addIndex(1);
    /** NF4's code book in one vector (L = 16) or two (L = 8): selectFrom(CODE_LO, CODE_HI) looks a nibble up. */
    private static final FloatVector CODE_LO = FloatVector.fromArray(S, java.util.Arrays.copyOf(Nf4.CODE, Math.max(16, 2 * L)), 0);
    private static final FloatVector CODE_HI = L >= 16 ? CODE_LO
            : FloatVector.fromArray(S, java.util.Arrays.copyOf(Nf4.CODE, Math.max(16, 2 * L)), L);
    /** Interleave two vectors' first (second) halves: lane i from a[i/2] for even i, from b[i/2] for odd i. */
    private static final VectorShuffle<Float> ZIP_LO = VectorShuffle.fromOp(S, i -> (i & 1) == 0 ? i / 2 : L + i / 2);
    private static final VectorShuffle<Float> ZIP_HI = VectorShuffle.fromOp(S, i -> (i & 1) == 0 ? L / 2 + i / 2 : L + L / 2 + i / 2);
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);
    /** Values of a row of B widened at a time by {@link #axpy}. */
    private static final int RUN = 256;
    private static final ThreadLocal<float[]> RUN_BUFFER = ThreadLocal.withInitial(() -> new float[RUN]);

    private WeightDots() {}

    /** Σ_i x[xOff + i]·w[off + i] for i in [0, n), w widened exactly; the bits of {@link PanamaKernels#dotStatic} on widened w. */
    static float dot(float[] x, int xOff, WeightStorage w, int off, int n) {
        if (!IN_REGISTERS) return widened(x, xOff, w, off, n);
        return switch (w) {
            case WeightStorage.F32 f -> PanamaKernels.dotStatic(x, xOff, f.values(), off, n);
            case WeightStorage.Bf16 h -> dotBf16(x, xOff, h.bits(), off, n);
            case WeightStorage.F16 h -> dotF16(x, xOff, h.bits(), off, n);
            case BlockStorage q when off % q.blockSize() != 0 || n % q.blockSize() != 0 -> widened(x, xOff, w, off, n);
            case Q8_0 q -> dotQ8_0(x, xOff, q.blocksInPlace(), off / Q8_0.BLOCK, n / Q8_0.BLOCK);
            case Q4_0 q -> dotQ4_0(x, xOff, q.blocksInPlace(), off / Q4_0.BLOCK, n / Q4_0.BLOCK);
            case Q5_0 q -> dotQ5_0(x, xOff, q.blocksInPlace(), off / Q5_0.BLOCK, n / Q5_0.BLOCK);
            case Q4K q -> dotQ4K(x, xOff, q.blocksInPlace(), off / Q4K.BLOCK, n / Q4K.BLOCK, false);
            case Q5K q -> dotQ4K(x, xOff, q.blocksInPlace(), off / Q5K.BLOCK, n / Q5K.BLOCK, true);
            case Q6K q -> dotQ6K(x, xOff, q.blocksInPlace(), off / Q6K.BLOCK, n / Q6K.BLOCK);
            case Nf4 q -> dotNf4(x, xOff, q.blocksInPlace(), off / Nf4.BLOCK, n / Nf4.BLOCK);
            default -> widened(x, xOff, w, off, n);                          // bitsandbytes' any-block-size 4-bit
        };
    }

    /** The run widened into this thread's buffer, then {@link PanamaKernels#dotStatic}: for runs the registers do not serve. */
    private static float widened(float[] x, int xOff, WeightStorage w, int off, int n) {
        float[] row = ROW.get();
        if (row.length < n) ROW.set(row = new float[n]);
        w.widen(off, row, 0, n);
        return PanamaKernels.dotStatic(x, xOff, row, 0, n);
    }

    /** bfloat16: the bits shifted into a float32's upper half. Any offset and length (dot's loop, tail included). */
    private static float dotBf16(float[] x, int xOff, short[] h, int off, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        int i = 0;
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xOff + i).fma(bf16(h, off + i), s0);
            s1 = FloatVector.fromArray(S, x, xOff + i + L).fma(bf16(h, off + i + L), s1);
        }
        for (int bound = S.loopBound(n); i < bound; i += L) s0 = FloatVector.fromArray(S, x, xOff + i).fma(bf16(h, off + i), s0);
        float s = PanamaKernels.sumLanes(s0.add(s1));
        for (; i < n; i++) s += x[xOff + i] * Float.intBitsToFloat(h[off + i] << 16);
        return s;
    }

    private static FloatVector bf16(short[] h, int i) {
        return ((IntVector) ShortVector.fromArray(SHORTS, h, i).convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** IEEE float16. Any offset and length. */
    private static float dotF16(float[] x, int xOff, short[] h, int off, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        int i = 0;
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xOff + i).fma(f16(h, off + i), s0);
            s1 = FloatVector.fromArray(S, x, xOff + i + L).fma(f16(h, off + i + L), s1);
        }
        for (int bound = S.loopBound(n); i < bound; i += L) s0 = FloatVector.fromArray(S, x, xOff + i).fma(f16(h, off + i), s0);
        float s = PanamaKernels.sumLanes(s0.add(s1));
        for (; i < n; i++) s += x[xOff + i] * Float.float16ToFloat(h[off + i]);
        return s;
    }

    /**
     * float16 → float32 exactly: exponent and mantissa moved into float32's fields and scaled by 2^112 (right for normal
     * and subnormal values alike, the product being exact); infinities and NaNs get the all-ones exponent; sign copied.
     */
    private static FloatVector f16(short[] h, int i) {
        IntVector v = (IntVector) ShortVector.fromArray(SHORTS, h, i).convertShape(VectorOperators.S2I, INTS, 0);
        IntVector magnitude = v.and(0x7FFF), sign = v.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector finite = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        IntVector special = v.and(0x3FF).lanewise(VectorOperators.LSHL, 13).or(0x7F800000);
        return finite.blend(special, magnitude.compare(VectorOperators.GE, 0x7C00)).or(sign).reinterpretAsFloats();
    }

    /** L int8 values at q[p] as floats. */
    private static FloatVector bytes(byte[] q, int p) {
        return (FloatVector) ByteVector.fromArray(BYTES, q, p).convertShape(VectorOperators.B2F, S, 0);
    }

    /** The low (or high) nibbles of the L bytes at q[p], as floats 0..15. */
    private static FloatVector nibbles(byte[] q, int p, boolean high) {
        ByteVector v = ByteVector.fromArray(BYTES, q, p);
        if (high) v = v.lanewise(VectorOperators.LSHR, 4);
        return (FloatVector) v.and((byte) 0xF).convertShape(VectorOperators.B2F, S, 0);
    }

    /** Bits {@code shift}, {@code shift + 1} (mask 3) or just {@code shift} (mask 1) of the L bytes at q[p], as floats. */
    private static FloatVector bits(byte[] q, int p, int shift, int mask) {
        return (FloatVector) ByteVector.fromArray(BYTES, q, p).lanewise(VectorOperators.LSHR, shift).and((byte) mask)
                .convertShape(VectorOperators.B2F, S, 0);
    }

    private static float half(byte[] q, int i) {
        return Float.float16ToFloat((short) ((q[i] & 0xFF) | (q[i + 1] << 8)));
    }

    /** Q8_0: value = q·d. */
    private static float dotQ8_0(float[] x, int xOff, byte[] q, int block, int blocks) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        for (int b = block; b < block + blocks; b++, xOff += Q8_0.BLOCK) {
            int base = b * Q8_0.BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(S, half(q, base));
            for (int l = 0; l < Q8_0.BLOCK; l += 2 * L) {
                s0 = FloatVector.fromArray(S, x, xOff + l).fma(bytes(q, base + 2 + l).mul(d), s0);
                s1 = FloatVector.fromArray(S, x, xOff + l + L).fma(bytes(q, base + 2 + l + L).mul(d), s1);
            }
        }
        return PanamaKernels.sumLanes(s0.add(s1));
    }

    /** Q4_0: value l = (nibble − 8)·d, low nibbles of qs[0..16) first, then their high nibbles. */
    private static float dotQ4_0(float[] x, int xOff, byte[] q, int block, int blocks) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        for (int b = block; b < block + blocks; b++, xOff += Q4_0.BLOCK) {
            int qs = b * Q4_0.BLOCK_BYTES + 2;
            FloatVector d = FloatVector.broadcast(S, half(q, qs - 2));
            for (int l = 0; l < Q4_0.BLOCK; l += 2 * L) {
                s0 = FloatVector.fromArray(S, x, xOff + l).fma(nibbles(q, qs + (l & 15), l >= 16).sub(8f).mul(d), s0);
                int m = l + L;
                s1 = FloatVector.fromArray(S, x, xOff + m).fma(nibbles(q, qs + (m & 15), m >= 16).sub(8f).mul(d), s1);
            }
        }
        return PanamaKernels.sumLanes(s0.add(s1));
    }

    /** Q5_0: Q4_0's nibbles plus bit l of the uint32 qh as the fifth bit; value = (q − 16)·d. */
    private static float dotQ5_0(float[] x, int xOff, byte[] q, int block, int blocks) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        for (int b = block; b < block + blocks; b++, xOff += Q5_0.BLOCK) {
            int base = b * Q5_0.BLOCK_BYTES, qs = base + 6;
            FloatVector d = FloatVector.broadcast(S, half(q, base));
            int qh = (q[base + 2] & 0xFF) | (q[base + 3] & 0xFF) << 8 | (q[base + 4] & 0xFF) << 16 | (q[base + 5] & 0xFF) << 24;
            for (int l = 0; l < Q5_0.BLOCK; l += 2 * L) {
                s0 = FloatVector.fromArray(S, x, xOff + l).fma(q5(q, qs, qh, l).mul(d), s0);
                s1 = FloatVector.fromArray(S, x, xOff + l + L).fma(q5(q, qs, qh, l + L).mul(d), s1);
            }
        }
        return PanamaKernels.sumLanes(s0.add(s1));
    }

    /** Q5_0's values l..l+L − 1 before the scale: nibble + 16·bit − 16 (small integers, exact in float). */
    private static FloatVector q5(byte[] q, int qs, int qh, int l) {
        FloatVector high = (FloatVector) IntVector.broadcast(INTS, qh >>> l).lanewise(VectorOperators.LSHR, IOTA).and(1)
                .lanewise(VectorOperators.LSHL, 4).convert(VectorOperators.I2F, 0);
        return nibbles(q, qs + (l & 15), l >= 16).add(high).sub(16f);
    }

    /**
     * Q4_K (and Q5_K with {@code fifthBit}): sub-block s of 32 values is (d·sc)·q − dmin·m, q the low nibbles of
     * qs[32·(s/2)..] for even s, the high ones for odd s (Q5_K: plus 16 × bit s of qh[l]).
     */
    private static float dotQ4K(float[] x, int xOff, byte[] q, int block, int blocks, boolean fifthBit) {
        int blockBytes = fifthBit ? Q5K.BLOCK_BYTES : Q4K.BLOCK_BYTES, qsAt = fifthBit ? 48 : 16;
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        for (int b = block; b < block + blocks; b++) {
            int base = b * blockBytes, scales = base + 4, qh = base + 16;
            float d = half(q, base), dmin = half(q, base + 2);
            for (int s = 0; s < 8; s++, xOff += 32) {
                FloatVector d1 = FloatVector.broadcast(S, d * Q4K.scaleMin(q, scales, s, false));
                FloatVector m1 = FloatVector.broadcast(S, dmin * Q4K.scaleMin(q, scales, s, true));
                int qs = base + qsAt + (s >> 1) * 32;
                boolean high = (s & 1) == 1;
                for (int l = 0; l < 32; l += 2 * L) {
                    FloatVector v0 = nibbles(q, qs + l, high), v1 = nibbles(q, qs + l + L, high);
                    if (fifthBit) {
                        v0 = v0.add(bits(q, qh + l, s, 1).mul(16f));
                        v1 = v1.add(bits(q, qh + l + L, s, 1).mul(16f));
                    }
                    s0 = FloatVector.fromArray(S, x, xOff + l).fma(v0.mul(d1).sub(m1), s0);
                    s1 = FloatVector.fromArray(S, x, xOff + l + L).fma(v1.mul(d1).sub(m1), s1);
                }
            }
        }
        return PanamaKernels.sumLanes(s0.add(s1));
    }

    /**
     * Q6_K: in half h, quarter k, value l (of 32): low 4 bits a nibble of ql[64h + 32(k&amp;1) + l] (high nibble for
     * k ≥ 2), high 2 bits bits 2k of qh[32h + l]; value = (d·scales[8h + l/16 + 2k])·(q − 32).
     */
    private static float dotQ6K(float[] x, int xOff, byte[] q, int block, int blocks) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        for (int b = block; b < block + blocks; b++) {
            int ql = b * Q6K.BLOCK_BYTES, qh = ql + 128, sc = ql + 192;
            float d = half(q, ql + 208);
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 4; k++, xOff += 32) {
                    int lo = ql + 64 * h + 32 * (k & 1), hi = qh + 32 * h;
                    for (int l = 0; l < 32; l += 2 * L) {
                        s0 = FloatVector.fromArray(S, x, xOff + l).fma(q6(q, lo, hi, sc, d, h, k, l), s0);
                        s1 = FloatVector.fromArray(S, x, xOff + l + L).fma(q6(q, lo, hi, sc, d, h, k, l + L), s1);
                    }
                }
            }
        }
        return PanamaKernels.sumLanes(s0.add(s1));
    }

    private static FloatVector q6(byte[] q, int lo, int hi, int sc, float d, int h, int k, int l) {
        FloatVector v = nibbles(q, lo + l, k >= 2).add(bits(q, hi + l, 2 * k, 3).mul(16f)).sub(32f);
        return v.mul(d * q[sc + 8 * h + (l >> 4) + 2 * k]);
    }

    /**
     * NF4: value j = CODE[nibble]·absmax, the high nibble of q[j/2] for even j, the low one for odd j. L bytes give 2L
     * values: the high and the low nibbles looked up, then interleaved (ZIP_LO, ZIP_HI) back into value order.
     */
    private static float dotNf4(float[] x, int xOff, byte[] q, int block, int blocks) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        for (int b = block; b < block + blocks; b++, xOff += Nf4.BLOCK) {
            int base = b * Nf4.BLOCK_BYTES;
            float absmax = Float.intBitsToFloat((q[base] & 0xFF) | (q[base + 1] & 0xFF) << 8 | (q[base + 2] & 0xFF) << 16 | q[base + 3] << 24);
            for (int l = 0; l < Nf4.BLOCK; l += 2 * L) {
                FloatVector even = nibbles(q, base + 4 + l / 2, true).selectFrom(CODE_LO, CODE_HI);
                FloatVector odd = nibbles(q, base + 4 + l / 2, false).selectFrom(CODE_LO, CODE_HI);
                s0 = FloatVector.fromArray(S, x, xOff + l).fma(even.rearrange(ZIP_LO, odd).mul(absmax), s0);
                s1 = FloatVector.fromArray(S, x, xOff + l + L).fma(even.rearrange(ZIP_HI, odd).mul(absmax), s1);
            }
        }
        return PanamaKernels.sumLanes(s0.add(s1));
    }

    /**
     * y[yOff + j] += alpha·w[off + j] for j in [0, n): one row of B in x·W (a Conv1D weight stored (in, out): GPT-2's,
     * which no GGUF holds), widened {@link #RUN} values at a time into this thread's buffer. The same operations, lane for
     * lane, as the float32 one-row product (fma below S.loopBound(n), multiply-add after), so the same bits.
     */
    static void axpy(float[] y, int yOff, float alpha, WeightStorage w, int off, int n) {
        float[] run = RUN_BUFFER.get();
        FloatVector a = FloatVector.broadcast(S, alpha);
        int bound = S.loopBound(n);
        for (int j0 = 0; j0 < n; j0 += RUN) {
            int len = Math.min(RUN, n - j0), vectors = Math.min(len, bound - j0), j = 0;
            w.widen(off + j0, run, 0, len);
            for (; j < vectors; j += L) {
                int yi = yOff + j0 + j;
                FloatVector.fromArray(S, run, j).fma(a, FloatVector.fromArray(S, y, yi)).intoArray(y, yi);
            }
            for (; j < len; j++) y[yOff + j0 + j] += alpha * run[j];
        }
    }
}
