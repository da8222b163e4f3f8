package dev.lora4j.kernels;

import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.Q4K;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q5K;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q6K;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.WeightStorage;

/**
 * An activation row x[0, n) quantized to 8 bits as llama.cpp quantizes it before a matrix-vector product with a ggml
 * block weight (the weight type's {@code vec_dot_type}), so that each block of the product is an integer dot product
 * times two scales. Two kinds:
 * <ul>
 * <li>{@link Kind#Q8_0} (for Q8_0, Q4_0, Q5_0 weights), blocks of 32: d = amax/127 rounded to float16, q = x·(127/amax)
 * rounded to the nearest integer, ties to even (ggml-cpu's AVX2 {@code quantize_row_q8_0}, the one llama.cpp runs on
 * x86); x̂ = q·d.</li>
 * <li>{@link Kind#Q8_K} (for Q4_K, Q5_K, Q6_K weights), blocks of 256 ({@code quantize_row_q8_K_ref}): with max the
 * value of largest magnitude (the first one), iscale = −127/max, q = min(127, nearest(iscale·x)) (ties to even),
 * d = 1/iscale in float32 (so d has the opposite sign of max and x̂ = q·d), and the sums of q over each 16 values
 * ({@code bsums}, for the k-quants' minimums); an all-zero block gets d = 0 and q = 0.</li>
 * </ul>
 * The quantized values are held widened to 16 bits ({@link #values}, |q| ≤ 127), ready for 16-bit multiplies. One
 * instance per thread is reused: {@link #quantize} grows its arrays, never shrinks them. A block of x holding a NaN or
 * an infinity gets a NaN or infinite scale, so the products it enters are NaN, as the exact ones would be.
 */
public final class QuantizedActivation {
    /** The 8-bit block format of the activations, by the weight format it multiplies. */
    public enum Kind {
        Q8_0(32), Q8_K(256);

        /** Values per block. */
        public final int block;

        Kind(int block) {
            this.block = block;
        }
    }

    /** Values per {@link #sums} entry (ggml's bsums). */
    public static final int SUM_GROUP = 16;

    private Kind kind;
    private int length;
    private short[] values = new short[0];
    private float[] scales = new float[0];
    private int[] sums = new int[0];

    /** The kind of activation a product with {@code w} quantizes to, or null when w's format has no integer path. */
    public static Kind kindFor(WeightStorage w) {
        return switch (w) {
            case Q8_0 q -> Kind.Q8_0;
            case Q4_0 q -> Kind.Q8_0;
            case Q5_0 q -> Kind.Q8_0;
            case Q4K q -> Kind.Q8_K;
            case Q5K q -> Kind.Q8_K;
            case Q6K q -> Kind.Q8_K;
            default -> null;
        };
    }

    /**
     * Whether a one-row product with rows of k values of {@code w}, the first at {@code off} and the next {@code stride}
     * apart, can quantize x: w in one of {@link #kindFor}'s formats, every row whole blocks from a block boundary.
     */
    public static boolean covers(WeightStorage w, int off, int stride, int k) {
        Kind kind = kindFor(w);
        return kind != null && off % kind.block == 0 && stride % kind.block == 0 && k % kind.block == 0;
    }

    /** Quantizes x[off, off + n), n a multiple of kind's block, into this instance (replacing what it held). */
    public QuantizedActivation quantize(float[] x, int off, int n, Kind kind) {
        if (n % kind.block != 0) throw new IllegalArgumentException(n + " values are not whole " + kind + " blocks");
        prepare(n, kind);
        for (int b = 0; b < n / kind.block; b++) {
            if (kind == Kind.Q8_0) quantizeQ8_0(x, off + b * kind.block, b);
            else quantizeQ8K(x, off + b * kind.block, b);
        }
        return this;
    }

    private void quantizeQ8_0(float[] x, int from, int b) {
        int to = 32 * b;
        float amax = 0f;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[from + j]));
        float id = amax != 0f ? 127f / amax : 0f;
        scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        for (int j = 0; j < 32; j++) values[to + j] = (short) Math.rint(x[from + j] * id);
    }

    private void quantizeQ8K(float[] x, int from, int b) {
        int to = 256 * b;
        float amax = 0f, max = 0f;
        boolean nan = false;
        for (int j = 0; j < 256; j++) {
            float a = Math.abs(x[from + j]);
            if (a > amax) {
                amax = a;
                max = x[from + j];
            }
            nan |= a != a;
        }
        if (nan) {                                                       // llama.cpp would drop it: kept, as a NaN scale
            scales[b] = Float.NaN;
            return;
        }
        if (amax == 0f) {
            scales[b] = 0f;
            java.util.Arrays.fill(values, to, to + 256, (short) 0);
            java.util.Arrays.fill(sums, 16 * b, 16 * b + 16, 0);
            return;
        }
        float iscale = -127f / max;
        for (int j = 0; j < 256; j++) values[to + j] = (short) Math.min(127, (int) Math.rint(iscale * x[from + j]));
        for (int g = 0; g < 256 / SUM_GROUP; g++) {
            int s = 0;
            for (int j = 0; j < SUM_GROUP; j++) s += values[to + g * SUM_GROUP + j];
            sums[16 * b + g] = s;
        }
        scales[b] = 1f / iscale;
    }

    private void prepare(int n, Kind kind) {
        this.kind = kind;
        this.length = n;
        if (values.length < n) values = new short[n];
        if (scales.length < n / kind.block) scales = new float[n / kind.block];
        if (kind == Kind.Q8_K && sums.length < n / SUM_GROUP) sums = new int[n / SUM_GROUP];
    }

    /**
     * Σ_i x̂[i]·w[off + i] for i {@literal <} length, w a storage of {@link #kindFor}'s formats of this kind and off a
     * whole number of blocks: per block, the integer dot product of the quants times the two scales (k-quants: each
     * sub-block's integer dot times its scale, minus the minimums times x's sums), blocks summed left to right; ggml-cpu's
     * generic {@code ggml_vec_dot_*_q8_0} and {@code ggml_vec_dot_*_q8_K} in plain loops (the scalar kernels' one-row
     * product).
     */
    public float dot(WeightStorage w, int off) {
        byte[] q = ((BlockStorage) w).blocksInPlace();
        int block = off / kind.block, blocks = length / kind.block;
        return switch (w) {
            case Q8_0 ignored -> dotQ8_0(values, scales, q, block, blocks);
            case Q4_0 ignored -> dotQ4_0(values, scales, q, block, blocks);
            case Q5_0 ignored -> dotQ5_0(values, scales, q, block, blocks);
            case Q4K ignored -> dotQ4K(values, scales, sums, q, block, blocks, false);
            case Q5K ignored -> dotQ4K(values, scales, sums, q, block, blocks, true);
            case Q6K ignored -> dotQ6K(values, scales, q, block, blocks);
            default -> throw new IllegalArgumentException(w.getClass().getSimpleName() + " has no integer dot product");
        };
    }

    /** Q8_0: Σ_j q[j]·x[j] per block, times d_w·d_x. */
    private static float dotQ8_0(short[] x, float[] xd, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q8_0.BLOCK_BYTES, sum = 0;
            for (int j = 0; j < 32; j++) sum += q[base + 2 + j] * x[32 * b + j];
            s += half(q, base) * xd[b] * sum;
        }
        return s;
    }

    /** Q4_0: (nibble − 8), low nibbles of qs[0..16) first. */
    private static float dotQ4_0(short[] x, float[] xd, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q4_0.BLOCK_BYTES, sum = 0;
            for (int j = 0; j < 16; j++) {
                sum += ((q[base + 2 + j] & 0xF) - 8) * x[32 * b + j] + (((q[base + 2 + j] >> 4) & 0xF) - 8) * x[32 * b + 16 + j];
            }
            s += half(q, base) * xd[b] * sum;
        }
        return s;
    }

    /** Q5_0: (nibble + 16·(bit j of qh) − 16). */
    private static float dotQ5_0(short[] x, float[] xd, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * Q5_0.BLOCK_BYTES, sum = 0;
            int qh = (q[base + 2] & 0xFF) | (q[base + 3] & 0xFF) << 8 | (q[base + 4] & 0xFF) << 16 | (q[base + 5] & 0xFF) << 24;
            for (int j = 0; j < 32; j++) {
                int nibble = j < 16 ? q[base + 6 + j] & 0xF : (q[base + 6 + j - 16] >> 4) & 0xF;
                sum += ((nibble | ((qh >>> j) & 1) << 4) - 16) * x[32 * b + j];
            }
            s += half(q, base) * xd[b] * sum;
        }
        return s;
    }

    /**
     * Q4_K (Q5_K with {@code fifthBit}): Σ_s sc_s·(Σ q·x over sub-block s) times d_w·d_x, minus Σ_s m_s·(x's sums over
     * sub-block s) times dmin_w·d_x.
     */
    private static float dotQ4K(short[] x, float[] xd, int[] sums, byte[] q, int block, int blocks, boolean fifthBit) {
        int blockBytes = fifthBit ? Q5K.BLOCK_BYTES : Q4K.BLOCK_BYTES, qsAt = fifthBit ? 48 : 16;
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int base = (block + b) * blockBytes, isum = 0, imin = 0;
            for (int sub = 0; sub < 8; sub++) {
                int qs = base + qsAt + (sub >> 1) * 32, shift = (sub & 1) * 4, dot = 0;
                for (int l = 0; l < 32; l++) {
                    int v = (q[qs + l] >> shift) & 0xF;
                    if (fifthBit) v += ((q[base + 16 + l] >> sub) & 1) << 4;
                    dot += v * x[256 * b + 32 * sub + l];
                }
                isum += Q4K.scaleMin(q, base + 4, sub, false) * dot;
                imin += Q4K.scaleMin(q, base + 4, sub, true) * (sums[16 * b + 2 * sub] + sums[16 * b + 2 * sub + 1]);
            }
            s += half(q, base) * xd[b] * isum - half(q, base + 2) * xd[b] * imin;
        }
        return s;
    }

    /** Q6_K: Σ_g scale_g·(Σ (q − 32)·x over the 16 values of group g), times d_w·d_x. */
    private static float dotQ6K(short[] x, float[] xd, byte[] q, int block, int blocks) {
        float s = 0f;
        for (int b = 0; b < blocks; b++) {
            int ql = (block + b) * Q6K.BLOCK_BYTES, qh = ql + 128, sc = ql + 192, isum = 0;
            for (int e = 0; e < 256; e += 16) {
                int h = e >> 7, k = (e >> 5) & 3, l0 = e & 31, shift = k < 2 ? 0 : 4, dot = 0;
                for (int l = l0; l < l0 + 16; l++) {
                    int v = (((q[ql + 64 * h + 32 * (k & 1) + l] >> shift) & 0xF) | (((q[qh + 32 * h + l] >> (2 * k)) & 3) << 4)) - 32;
                    dot += v * x[256 * b + 128 * h + 32 * k + l];
                }
                isum += q[sc + 8 * h + (l0 >> 4) + 2 * k] * dot;
            }
            s += half(q, ql + 208) * xd[b] * isum;
        }
        return s;
    }

    /** The float16 at q[i], little-endian, widened. */
    private static float half(byte[] q, int i) {
        return Float.float16ToFloat((short) ((q[i] & 0xFF) | (q[i + 1] << 8)));
    }

    public Kind kind() {
        return kind;
    }

    /** How many values x had. */
    public int length() {
        return length;
    }

    /** q[i] for i in [0, length): the quantized values, each in [−127, 127] (the array may be longer). */
    public short[] values() {
        return values;
    }

    /** d per block: x̂[i] = q[i]·d[i / block]. */
    public float[] scales() {
        return scales;
    }

    /** Q8_K only: Σ q over values [16g, 16g + 16) at index g. */
    public int[] sums() {
        return sums;
    }
}
