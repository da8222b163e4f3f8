package dev.lora4j.tensor;

/**
 * QLoRA's 4-bit NormalFloat (bitsandbytes, Dettmers et al. 2023): blocks of 64 values, each a 4-bit index into the
 * 16-value code book {@link #CODE} times the block's float32 absmax. Held as {@code {float32 absmax; uint8 q[32]}} per
 * block, the first of two values in the high nibble as bitsandbytes packs them. {@link #quantize} follows
 * bitsandbytes' kQuantizeBlockwise: x·(1/absmax) is coded by the thresholds of dQuantizeNF4 (the midpoints of the
 * code book, compared with {@code >}); dequantization is CODE[q]·absmax.
 */
public final class Nf4 extends BlockStorage {
    public static final int BLOCK = 64, BLOCK_BYTES = 36;

    /** bitsandbytes' NF4 code book (functional.py get_4bit_type("nf4"), as float32). */
    public static final float[] CODE = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f,
            0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
            0.7229568362236023f, 1.0f};

    /** dQuantizeNF4's thresholds, ascending: the code of x is the number of them x exceeds. */
    private static final float[] THRESHOLDS = {-0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f,
            -0.33967943489551544f, -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f,
            0.03979014977812767f, 0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
            0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};

    public Nf4(byte[] blocks, int size) {
        super(blocks, size);
    }

    /**
     * Quantizes {@code values} (a whole number of blocks of 64). A block of zeros gets absmax 0 and the code of 0.0
     * (bitsandbytes would divide by zero there).
     */
    public static Nf4 quantize(float[] values) {
        if (values.length % BLOCK != 0) throw new IllegalArgumentException("NF4: " + values.length + " values are not whole blocks of " + BLOCK);
        byte[] b = new byte[values.length / BLOCK * BLOCK_BYTES];
        encode(b, 0, values, 0, values.length / BLOCK);
        return new Nf4(b, values.length);
    }

    /** Quantizes {@code blocks} blocks of {@code src} from {@code sOff} into {@code dst} from byte {@code dOff}. */
    static void encode(byte[] dst, int dOff, float[] src, int sOff, int blocks) {
        for (int blk = 0; blk < blocks; blk++) {
            int x = sOff + blk * BLOCK, o = dOff + blk * BLOCK_BYTES;
            float absmax = 0f;
            for (int j = 0; j < BLOCK; j++) absmax = Math.max(absmax, Math.abs(src[x + j]));
            putFloat(dst, o, absmax);
            float inv = 1.0f / absmax;
            for (int j = 0; j < BLOCK; j += 2) {
                int hi = absmax == 0 ? 7 : code(src[x + j] * inv), lo = absmax == 0 ? 7 : code(src[x + j + 1] * inv);
                dst[o + 4 + j / 2] = (byte) (hi << 4 | lo);
            }
        }
    }

    /** The index of normalized {@code x} in the code book, as dQuantizeNF4 decides it. */
    static int code(float x) {
        int q = 0;
        while (q < THRESHOLDS.length && x > THRESHOLDS[q]) q++;
        return q;
    }

    private static void putFloat(byte[] b, int i, float v) {
        int bits = Float.floatToRawIntBits(v);
        for (int k = 0; k < 4; k++) b[i + k] = (byte) (bits >> 8 * k);
    }

    @Override
    public int blockSize() {
        return BLOCK;
    }

    @Override
    public int blockBytes() {
        return BLOCK_BYTES;
    }

    @Override
    public String name() {
        return "NF4";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float absmax = absmax(base);
        for (int j = from; j < to; j++) {
            int packed = data[base + 4 + (j >> 1)];
            dst[dOff++] = CODE[(j & 1) == 0 ? (packed >> 4) & 0xF : packed & 0xF] * absmax;
        }
    }

    private float absmax(int base) {
        return Float.intBitsToFloat((data[base] & 0xFF) | (data[base + 1] & 0xFF) << 8 | (data[base + 2] & 0xFF) << 16 | data[base + 3] << 24);
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(absmax(base));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Nf4(blocks, size());
    }
}
