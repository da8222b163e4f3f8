package dev.lora4j.tensor;

/**
 * ggml's Q4_0 (block_q4_0): blocks of 32 values, {@code {fp16 d; uint8 qs[16]}}; value j is the low nibble of qs[j]
 * for j {@literal <} 16 and the high nibble of qs[j − 16] after, minus 8, times d. {@link #quantize} follows
 * quantize_row_q4_0_ref: d = max/−8 where max is the value of largest magnitude, q = min(15, trunc(x/d + 8.5)).
 */
public final class Q4_0 extends BlockStorage {
    public static final int BLOCK = 32, BLOCK_BYTES = 18;

    public Q4_0(byte[] blocks, int size) {
        super(blocks, size);
    }

    /** Quantizes {@code values} (a whole number of blocks) as llama.cpp's reference quantizer does. */
    public static Q4_0 quantize(float[] values) {
        if (values.length % BLOCK != 0) throw new IllegalArgumentException("Q4_0: " + values.length + " values are not whole blocks of " + BLOCK);
        byte[] b = new byte[values.length / BLOCK * BLOCK_BYTES];
        encode(b, 0, values, 0, values.length / BLOCK);
        return new Q4_0(b, values.length);
    }

    /** Quantizes {@code blocks} blocks of {@code src} from {@code sOff} into {@code dst} from byte {@code dOff}. */
    static void encode(byte[] dst, int dOff, float[] src, int sOff, int blocks) {
        for (int blk = 0; blk < blocks; blk++) {
            int x = sOff + blk * BLOCK, o = dOff + blk * BLOCK_BYTES;
            float amax = 0f, max = 0f;
            for (int j = 0; j < BLOCK; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8, id = d != 0 ? 1.0f / d : 0.0f;
            putHalf(dst, o, d);
            for (int j = 0; j < BLOCK / 2; j++) {
                int q0 = Math.min(15, (byte) (int) (src[x + j] * id + 8.5f));
                int q1 = Math.min(15, (byte) (int) (src[x + BLOCK / 2 + j] * id + 8.5f));
                dst[o + 2 + j] = (byte) (q0 | q1 << 4);
            }
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
        return "Q4_0";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float d = half(base);
        for (int j = from; j < to; j++) {
            int q = j < 16 ? data[base + 2 + j] & 0x0F : (data[base + 2 + j - 16] >> 4) & 0x0F;
            dst[dOff++] = (q - 8) * d;
        }
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(half(base));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Q4_0(blocks, size());
    }
}
