package dev.lora4j.tensor;

/**
 * ggml's Q4_K (block_q4_K, dequantize_row_q4_K): super-blocks of 256 values, {@code {fp16 d; fp16 dmin;
 * uint8 scales[12]; uint8 qs[128]}}. Sub-block s (32 values) has a 6-bit scale sc and min m packed in scales (see
 * {@link #scaleMin}); its value l is (d·sc)·q − dmin·m with q the low nibble of qs[32·(s/2) + l] for even s, the
 * high nibble for odd s. Read only (llama.cpp's k-quant search is not reproduced).
 */
public final class Q4K extends BlockStorage {
    public static final int BLOCK = 256, BLOCK_BYTES = 144;

    public Q4K(byte[] blocks, int size) {
        super(blocks, size);
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
        return "Q4_K";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float d = half(base), dmin = half(base + 2);
        int scales = base + 4, qs = base + 16;
        for (int j = from; j < to; ) {
            int s = j >> 5, end = Math.min(to, (s + 1) << 5), shift = (s & 1) * 4, q = qs + (s >> 1) * 32;
            float d1 = d * scaleMin(data, scales, s, false), m1 = dmin * scaleMin(data, scales, s, true);
            for (; j < end; j++) dst[dOff++] = d1 * ((data[q + (j & 31)] >> shift) & 0xF) - m1;
        }
    }

    /** get_scale_min_k4: the 6-bit scale (or, with {@code min}, the min) of sub-block j of the 12 bytes at q. */
    public static int scaleMin(byte[] b, int q, int j, boolean min) {
        if (j < 4) return b[q + j + (min ? 4 : 0)] & 63;
        return min ? ((b[q + j + 4] & 0xFF) >> 4) | (((b[q + j] & 0xFF) >> 6) << 4)
                : (b[q + j + 4] & 0xF) | (((b[q + j - 4] & 0xFF) >> 6) << 4);
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(half(base)) && Float.isFinite(half(base + 2));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Q4K(blocks, size());
    }
}
