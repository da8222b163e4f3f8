package dev.lora4j.kernels.panama;

import dev.lora4j.kernels.QuantizedActivation;
import dev.lora4j.tensor.BlockStorage;
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
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Batch-1 decoding's product with a ggml block weight as llama.cpp computes it: x quantized once per product
 * ({@link QuantizedActivation}: Q8_0 for Q8_0/Q4_0/Q5_0 weights, Q8_K for the k-quants), then per row and block an
 * integer dot product of the quants times the block's scales, accumulated in float32. The integer part runs on 16-bit
 * lanes: 16 weight quants (a 128-bit load sign-extended, then their nibbles and bits) times 16 of x's quants (held as
 * shorts), two such products added per lane (at most 2·128·127, which fits), adjacent lanes added into 8 ints
 * ({@link #pairSums}). Blocks of 32 convert that int vector to float and FMA it with the broadcast product of the two
 * scales (one float accumulator per row, its lanes summed in a fixed order by {@link #sum}); k-quant super-blocks
 * multiply in each sub-block's scale as ints and reduce the int lanes once per 256 values (exact), then take the scales
 * in scalar float arithmetic, super-blocks summed left to right. So the result is the same in the interpreter and in C2
 * code. Fixed 256-bit shapes, used where the preferred species is at least that wide (AVX2); narrower machines take
 * {@link QuantizedActivation#dot}, which computes the same products in plain loops. Where it is 512 bits (AVX-512),
 * Q8_0, Q4_0, Q5_0 and Q4_K take kernels of their own on 32 lanes ({@code rowsQ8_0x512} ..): one multiply per 32
 * quants instead of two and an add; a Q4_0/Q5_0 block's 16 bytes are widened once, copied into both halves of the
 * vector ({@link #TWICE}) and shifted by 0 or 4 per lane ({@link #NIBBLE_SHIFTS}), so that lane l holds value l and
 * x's quants are read in their own order; Q5_0's 32 fifth bits are one mask.
 *
 * <p>Vector code here must stay in compilations within C2's node budget: past it, a vector operation or a helper taking
 * or returning vectors is called instead of compiled in, and its vectors are boxed (5–10× slower). So each format is
 * one method with one loop body, reached through its own method handle ({@link #ROWS}) so that no compilation holds
 * two formats' kernels, and the k-quants' minimums and scales are scalar helpers. A block's float16 scale (and Q5_0's
 * 32 fifth bits with it) is one little-endian load through a byteArrayViewVarHandle: one bounds check instead of one
 * per byte, about a quarter fewer instructions in a Q5_0 block's loop.
 */
final class QuantizedDots {
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> BYTES_256 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS_512 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Integer> INTS_512 = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> FLOATS_512 = FloatVector.SPECIES_512;
    private static final boolean SUPPORTED = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256;
    private static final boolean WIDE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    private static final VectorShuffle<Float> HALVES = VectorShuffle.fromOp(FLOATS, i -> i ^ 4), QUARTERS = VectorShuffle.fromOp(FLOATS, i -> i ^ 2);
    private static final VectorShuffle<Float> HALVES_512 = VectorShuffle.fromOp(FLOATS_512, i -> i ^ 8);
    /** Lanes 0..15 into both halves of 32. */
    private static final VectorShuffle<Short> TWICE = VectorShuffle.fromOp(SHORTS_512, i -> i & 15);
    /** 0 for lanes 0..15 (a byte's low nibble), 4 for lanes 16..31 (its high nibble). */
    private static final ShortVector NIBBLE_SHIFTS = ShortVector.zero(SHORTS_512).addIndex(1).lanewise(VectorOperators.ASHR, 4).mul((short) 4);
    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final ThreadLocal<QuantizedActivation> ACTIVATION = ThreadLocal.withInitial(QuantizedActivation::new);

    private QuantizedDots() {}

    /**
     * Each format's row loop, {@code rowsQ8_0} .. {@code rowsQ6K}, as method handles: a call through a handle that is not a
     * constant is never inlined, so each format's kernel is compiled on its own. When one call site led to two formats
     * (a file of Q5_0 and Q4_K rows), C2 inlined both kernels into {@link #gemv}, ran past its node budget and left some
     * of their vector operations as calls to the Vector API's Java fallbacks: a q4_K decode at 4 tokens/s instead of 33,
     * in some JVM runs and not others (whichever formats the call site's profile had seen when gemv was compiled).
     */
    private static final MethodHandle[] ROWS;

    static {
        MethodType type = MethodType.methodType(void.class, float[].class, int.class, boolean.class, QuantizedActivation.class,
                byte[].class, int.class, int.class, int.class, int.class);
        String wide = WIDE ? "x512" : "";
        String[] names = {"rowsQ8_0" + wide, "rowsQ4_0" + wide, "rowsQ5_0" + wide, "rowsQ4K" + wide, "rowsQ5K", "rowsQ6K"};
        ROWS = new MethodHandle[names.length];
        try {
            for (int i = 0; i < names.length; i++) ROWS[i] = MethodHandles.lookup().findStatic(QuantizedDots.class, names[i], type);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * c[cOff + j] (+)= Σ_p x̂[p]·W[j, p] for j {@literal <} n, W's row j the k values at off + j·stride
     * ({@link QuantizedActivation#covers}); with vectors narrower than 256 bits, {@link QuantizedActivation#dot}.
     */
    static void gemv(float[] c, int cOff, float[] x, int xOff, WeightStorage w, int off, int stride, int n, int k,
                     boolean accumulate) {
        QuantizedActivation.Kind kind = QuantizedActivation.kindFor(w);
        QuantizedActivation a = ACTIVATION.get().quantize(x, xOff, k, kind);
        if (!SUPPORTED) {
            for (int j = 0; j < n; j++) {
                float s = a.dot(w, off + j * stride);
                c[cOff + j] = accumulate ? c[cOff + j] + s : s;
            }
            return;
        }
        int format = switch (w) {
            case Q8_0 ignored -> 0;
            case Q4_0 ignored -> 1;
            case Q5_0 ignored -> 2;
            case Q4K ignored -> 3;
            case Q5K ignored -> 4;
            case Q6K ignored -> 5;
            default -> throw new IllegalArgumentException(w.getClass().getSimpleName() + " has no integer dot product");
        };
        byte[] q = ((BlockStorage) w).blocksInPlace();
        try {
            ROWS[format].invokeExact(c, cOff, accumulate, a, q, off / kind.block, stride / kind.block, n, k / kind.block);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new AssertionError(e);                     // the row loops throw nothing checked
        }
    }

    // Row j's blocks start at block + j·stride; c[cOff + j] (+)= its dot product with x's blocks.

    private static void rowsQ8_0(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                 int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ8_0(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ4_0(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                 int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ4_0(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ5_0(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                 int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ5_0(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ4K(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ4K(a.values(), a.scales(), a.sums(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ5K(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ5K(a.values(), a.scales(), a.sums(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ6K(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ6K(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ8_0x512(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                     int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ8_0x512(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ4_0x512(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                     int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ4_0x512(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ5_0x512(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                     int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ5_0x512(a.values(), a.scales(), q, block + j * stride, blocks), accumulate);
    }

    private static void rowsQ4Kx512(float[] c, int cOff, boolean accumulate, QuantizedActivation a, byte[] q, int block,
                                    int stride, int n, int blocks) {
        for (int j = 0; j < n; j++) store(c, cOff + j, dotQ4Kx512(a.values(), a.scales(), a.sums(), q, block + j * stride, blocks), accumulate);
    }

    private static void store(float[] c, int i, float s, boolean accumulate) {
        c[i] = accumulate ? c[i] + s : s;
    }

    /** The 16 bytes at q[p], sign-extended to shorts. */
    private static ShortVector wide(byte[] q, int p) {
        return (ShortVector) ByteVector.fromArray(BYTES, q, p).convertShape(VectorOperators.B2S, SHORTS, 0);
    }

    /** Lanes 2i and 2i + 1 added, as 8 ints, when every such sum is below 2^15 in magnitude: 3 operations, not 4. */
    private static IntVector smallPairSums(ShortVector p) {
        IntVector r = p.reinterpretAsInts();
        return r.add(r.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    /** Lanes 2i and 2i + 1 added, as 8 ints (exact). */
    private static IntVector pairSums(ShortVector p) {
        IntVector r = p.reinterpretAsInts();
        return r.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(r.lanewise(VectorOperators.ASHR, 16));
    }

    /** The 8 lanes' sum, as ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)): a fixed order, without an array. */
    private static float sum(FloatVector v) {
        v = v.add(v.rearrange(HALVES));
        v = v.add(v.rearrange(QUARTERS));
        return v.lane(0) + v.lane(1);
    }

    /** The 16 lanes' sum: the halves added lane by lane, then {@link #sum}'s fixed order. */
    private static float sum512(FloatVector v) {
        return sum((FloatVector) v.add(v.rearrange(HALVES_512)).reinterpretShape(FLOATS, 0));
    }

    /** The 32 bytes at q[p], sign-extended to shorts. */
    private static ShortVector wide32(byte[] q, int p) {
        return (ShortVector) ByteVector.fromArray(BYTES_256, q, p).convertShape(VectorOperators.B2S, SHORTS_512, 0);
    }

    /** A Q4_0/Q5_0 block's 16 bytes at q[p] as its 32 nibbles, value l in lane l (the low nibbles, then the high). */
    private static ShortVector nibbles(byte[] q, int p) {
        ShortVector v = (ShortVector) wide(q, p).reinterpretShape(SHORTS_512, 0);
        return v.rearrange(TWICE).lanewise(VectorOperators.ASHR, NIBBLE_SHIFTS).and((short) 0xF);
    }

    /** x[i..i + 32) as shorts. */
    private static ShortVector xs32(short[] x, int i) {
        return ShortVector.fromArray(SHORTS_512, x, i);
    }

    /** The float16 at q[i], little-endian, widened. */
    private static float half(byte[] q, int i) {
        return Float.float16ToFloat((short) SHORT_LE.get(q, i));
    }

    /** Q8_0: Σ_j q[j]·x[j] per block. */
    private static float dotQ8_0(short[] x, float[] xd, byte[] q, int block, int blocks) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q8_0.BLOCK_BYTES, xb = 32 * b;
            ShortVector p = wide(q, base + 2).mul(xs(x, xb)).add(wide(q, base + 18).mul(xs(x, xb + 16)));       // ≤ 2·128·127
            acc = ((FloatVector) pairSums(p).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS, half(q, base) * xd[b]), acc);
        }
        return sum(acc);
    }

    /** Q4_0: the low nibbles of qs[0..16) are values 0..15, the high ones 16..31; value = nibble − 8. */
    private static float dotQ4_0(short[] x, float[] xd, byte[] q, int block, int blocks) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q4_0.BLOCK_BYTES, xb = 32 * b;
            ShortVector qs = wide(q, base + 2);
            ShortVector lo = qs.and((short) 0xF).sub((short) 8), hi = qs.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).sub((short) 8);
            ShortVector p = lo.mul(xs(x, xb)).add(hi.mul(xs(x, xb + 16)));                                       // ≤ 2·8·127
            acc = ((FloatVector) smallPairSums(p).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS, half(q, base) * xd[b]), acc);
        }
        return sum(acc);
    }

    /** Q5_0: Q4_0's nibbles plus bit j of qh as the fifth bit; value = q − 16, so 16 is subtracted where the bit is clear. */
    private static float dotQ5_0(short[] x, float[] xd, byte[] q, int block, int blocks) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q5_0.BLOCK_BYTES, xb = 32 * b;
            long head = (long) LONG_LE.get(q, base);                                // d, qh, qs[0], qs[1]
            int qh = (int) (head >>> 16);
            ShortVector qs = wide(q, base + 6);
            ShortVector lo = qs.and((short) 0xF).sub((short) 16, VectorMask.fromLong(SHORTS, ~qh & 0xFFFF));
            ShortVector hi = qs.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).sub((short) 16, VectorMask.fromLong(SHORTS, ~qh >>> 16));
            ShortVector p = lo.mul(xs(x, xb)).add(hi.mul(xs(x, xb + 16)));                                       // ≤ 2·16·127
            acc = ((FloatVector) smallPairSums(p).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS, Float.float16ToFloat((short) head) * xd[b]), acc);
        }
        return sum(acc);
    }

    /**
     * Q4_K: sub-block s (32 values) is (d·sc_s)·q − dmin·m_s, q the low nibbles of qs[32·(s/2)..] for even s, the high
     * ones for odd s. Per super-block: Σ_s sc_s·(Σ q·x over sub-block s) (exact, in int lanes) times d_w·d_x, minus
     * Σ_s m_s·(x's sums over sub-block s) times dmin_w·d_x; super-blocks summed left to right. Two sub-blocks per
     * iteration, the low and high nibbles of the same 32 bytes.
     */
    private static float dotQ4K(short[] x, float[] xd, int[] sums, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q4K.BLOCK_BYTES;
            IntVector isum = IntVector.zero(INTS);
            for (int sub = 0; sub < 8; sub += 2) {                                  // sub-blocks sub, sub + 1: one qs run
                int qs = base + 16 + 16 * sub, xe = 256 * b + 32 * sub;
                ShortVector r0 = wide(q, qs), r1 = wide(q, qs + 16);
                ShortVector pe = r0.and((short) 0xF).mul(xs(x, xe)).add(r1.and((short) 0xF).mul(xs(x, xe + 16)));    // ≤ 2·15·127
                ShortVector po = r0.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).mul(xs(x, xe + 32))
                        .add(r1.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).mul(xs(x, xe + 48)));
                isum = isum.add(smallPairSums(pe).mul(Q4K.scaleMin(q, base + 4, sub, false)))
                        .add(smallPairSums(po).mul(Q4K.scaleMin(q, base + 4, sub + 1, false)));
            }
            float dx = xd[b];
            s += half(q, base) * dx * isum.reduceLanes(VectorOperators.ADD) - half(q, base + 2) * dx * mins(q, base + 4, sums, 16 * b);
        }
        return s;
    }

    /** {@link #dotQ8_0} on 32 lanes: one block per multiply. */
    private static float dotQ8_0x512(short[] x, float[] xd, byte[] q, int block, int blocks) {
        FloatVector acc = FloatVector.zero(FLOATS_512);
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q8_0.BLOCK_BYTES;
            ShortVector p = wide32(q, base + 2).mul(xs32(x, 32 * b));                                             // ≤ 128·127
            acc = ((FloatVector) pairSums(p).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS_512, half(q, base) * xd[b]), acc);
        }
        return sum512(acc);
    }

    /** {@link #dotQ4_0} on 32 lanes: the block's nibbles in value order ({@link #nibbles}). */
    private static float dotQ4_0x512(short[] x, float[] xd, byte[] q, int block, int blocks) {
        FloatVector acc = FloatVector.zero(FLOATS_512);
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q4_0.BLOCK_BYTES;
            ShortVector p = nibbles(q, base + 2).sub((short) 8).mul(xs32(x, 32 * b));                            // ≤ 8·127
            acc = ((FloatVector) smallPairSums(p).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS_512, half(q, base) * xd[b]), acc);
        }
        return sum512(acc);
    }

    /** {@link #dotQ5_0} on 32 lanes: bit l of qh is lane l's fifth bit, so its clear bits are one mask. */
    private static float dotQ5_0x512(short[] x, float[] xd, byte[] q, int block, int blocks) {
        FloatVector acc = FloatVector.zero(FLOATS_512);
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q5_0.BLOCK_BYTES;
            long head = (long) LONG_LE.get(q, base);                                // d, qh, qs[0], qs[1]
            ShortVector v = nibbles(q, base + 6).sub((short) 16, VectorMask.fromLong(SHORTS_512, ~(head >>> 16) & 0xFFFFFFFFL));
            ShortVector p = v.mul(xs32(x, 32 * b));                                                               // ≤ 16·127
            acc = ((FloatVector) smallPairSums(p).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS_512, Float.float16ToFloat((short) head) * xd[b]), acc);
        }
        return sum512(acc);
    }

    /** {@link #dotQ4K} on 32 lanes: a qs run's 32 low nibbles against sub-block sub of x, its high ones against sub + 1. */
    private static float dotQ4Kx512(short[] x, float[] xd, int[] sums, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q4K.BLOCK_BYTES;
            IntVector isum = IntVector.zero(INTS_512);
            for (int sub = 0; sub < 8; sub += 2) {
                int xe = 256 * b + 32 * sub;
                ShortVector r = wide32(q, base + 16 + 16 * sub);
                ShortVector pe = r.and((short) 0xF).mul(xs32(x, xe)), po = r.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).mul(xs32(x, xe + 32));
                isum = isum.add(smallPairSums(pe).mul(Q4K.scaleMin(q, base + 4, sub, false)))                    // ≤ 15·127 a lane
                        .add(smallPairSums(po).mul(Q4K.scaleMin(q, base + 4, sub + 1, false)));
            }
            float dx = xd[b];
            s += half(q, base) * dx * isum.reduceLanes(VectorOperators.ADD) - half(q, base + 2) * dx * mins(q, base + 4, sums, 16 * b);
        }
        return s;
    }

    /**
     * Q5_K: Q4_K's sub-blocks with a fifth bit, bit s of qh[l] for value l of sub-block s, worth 16. One sub-block per
     * iteration: two, with their fifth bits, exceed C2's inlining budget.
     */
    private static float dotQ5K(short[] x, float[] xd, int[] sums, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q5K.BLOCK_BYTES;
            IntVector isum = IntVector.zero(INTS);
            ShortVector h0 = wide(q, base + 16), h1 = wide(q, base + 32);
            for (int sub = 0; sub < 8; sub++) {
                int qs = base + 48 + 32 * (sub >> 1), shift = 4 * (sub & 1), xe = 256 * b + 32 * sub;
                ShortVector v0 = wide(q, qs).lanewise(VectorOperators.ASHR, shift).and((short) 0xF)
                        .or(h0.lanewise(VectorOperators.ASHR, sub).and((short) 1).lanewise(VectorOperators.LSHL, 4));
                ShortVector v1 = wide(q, qs + 16).lanewise(VectorOperators.ASHR, shift).and((short) 0xF)
                        .or(h1.lanewise(VectorOperators.ASHR, sub).and((short) 1).lanewise(VectorOperators.LSHL, 4));
                ShortVector p = v0.mul(xs(x, xe)).add(v1.mul(xs(x, xe + 16)));             // ≤ 2·31·127 a lane
                isum = isum.add(smallPairSums(p).mul(Q4K.scaleMin(q, base + 4, sub, false)));
            }
            float dx = xd[b];
            s += half(q, base) * dx * isum.reduceLanes(VectorOperators.ADD) - half(q, base + 2) * dx * mins(q, base + 4, sums, 16 * b);
        }
        return s;
    }

    /** Σ_s m_s·(x's sums over sub-block s): a Q4_K/Q5_K super-block's minimums (scales at q[scales]) against x's. */
    private static int mins(byte[] q, int scales, int[] sums, int g) {
        int m = 0;
        for (int sub = 0; sub < 8; sub++) m += Q4K.scaleMin(q, scales, sub, true) * (sums[g + 2 * sub] + sums[g + 2 * sub + 1]);
        return m;
    }

    /**
     * Q6_K: in half h, quarter k, value l (of 32): low 4 bits a nibble of ql[64h + 32(k&amp;1) + l] (high nibble for
     * k ≥ 2), high 2 bits bits 2k of qh[32h + l]; value = (d·scales[8h + l/16 + 2k])·(q − 32). Per super-block the
     * integer sums of 16 values times their scales (int lanes), times d_w·d_x; super-blocks summed left to right.
     */
    private static float dotQ6K(short[] x, float[] xd, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int ql = (block + b) * Q6K.BLOCK_BYTES;
            IntVector isum = IntVector.zero(INTS);
            for (int e = 0; e < 256; e += 32) {                                      // quarter k of half h, two scales
                int h = e >> 7, k = (e >> 5) & 3, lo = ql + 64 * h + 32 * (k & 1), hi = ql + 128 + 32 * h, sc = ql + 192 + 8 * h + 2 * k;
                int nibble = 4 * (k >> 1), bits = 2 * k, xe = 256 * b + e;
                ShortVector v0 = wide(q, lo).lanewise(VectorOperators.ASHR, nibble).and((short) 0xF)
                        .or(wide(q, hi).lanewise(VectorOperators.ASHR, bits).and((short) 3).lanewise(VectorOperators.LSHL, 4)).sub((short) 32);
                ShortVector v1 = wide(q, lo + 16).lanewise(VectorOperators.ASHR, nibble).and((short) 0xF)
                        .or(wide(q, hi + 16).lanewise(VectorOperators.ASHR, bits).and((short) 3).lanewise(VectorOperators.LSHL, 4)).sub((short) 32);
                isum = isum.add(smallPairSums(v0.mul(xs(x, xe))).mul(q[sc])).add(smallPairSums(v1.mul(xs(x, xe + 16))).mul(q[sc + 1]));  // ≤ 32·127 a lane
            }
            s += half(q, ql + 208) * xd[b] * isum.reduceLanes(VectorOperators.ADD);
        }
        return s;
    }

    /** x[i..i + 16) as shorts. */
    private static ShortVector xs(short[] x, int i) {
        return ShortVector.fromArray(SHORTS, x, i);
    }
}
