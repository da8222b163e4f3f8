package dev.lora4j.tensor;

/**
 * ggml's Q8_0 (ggml-common.h block_q8_0): blocks of 32 values, {@code {fp16 d; int8 q[32]}}, value = q·d.
 * {@link #quantize} follows quantize_row_q8_0_ref: d = amax/127, q = roundf(x·(1/d)) (half away from zero).
 */
public final class Q8_0 extends BlockStorage {
    public static final int BLOCK = 32, BLOCK_BYTES = 34;

    public Q8_0(byte[] blocks, int size) {
        super(blocks, size);
    }

    /** Quantizes {@code values} (a whole number of blocks) as llama.cpp's reference quantizer does. */
    public static Q8_0 quantize(float[] values) {
        if (values.length % BLOCK != 0) throw new IllegalArgumentException("Q8_0: " + values.length + " values are not whole blocks of " + BLOCK);
        byte[] b = new byte[values.length / BLOCK * BLOCK_BYTES];
        encode(b, 0, values, 0, values.length / BLOCK);
        return new Q8_0(b, values.length);
    }

    /** Quantizes {@code blocks} blocks of {@code src} from {@code sOff} into {@code dst} from byte {@code dOff}. */
    static void encode(byte[] dst, int dOff, float[] src, int sOff, int blocks) {
        for (int blk = 0; blk < blocks; blk++) {
            int x = sOff + blk * BLOCK, o = dOff + blk * BLOCK_BYTES;
            float amax = 0f;
            for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
            float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
            putHalf(dst, o, d);
            for (int j = 0; j < BLOCK; j++) dst[o + 2 + j] = (byte) roundHalfAway(src[x + j] * id);
        }
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
        return "Q8_0";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float d = half(base);
        for (int j = from, q = base + 2; j < to; j++) dst[dOff++] = data[q + j] * d;
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(half(base));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Q8_0(blocks, size());
    }
}
