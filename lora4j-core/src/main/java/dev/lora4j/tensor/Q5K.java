package dev.lora4j.tensor;

/**
 * ggml's Q5_K (block_q5_K, dequantize_row_q5_K): super-blocks of 256 values, {@code {fp16 d; fp16 dmin;
 * uint8 scales[12]; uint8 qh[32]; uint8 qs[128]}}: Q4_K's layout plus a fifth bit, bit s of qh[l] for value l of
 * sub-block s, worth 16. Value = (d·sc)·(q + 16·h) − dmin·m. Read only.
 */
public final class Q5K extends BlockStorage {
    public static final int BLOCK = 256, BLOCK_BYTES = 176;

    public Q5K(byte[] blocks, int size) {
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
        return "Q5_K";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float d = half(base), dmin = half(base + 2);
        int scales = base + 4, qh = base + 16, qs = base + 48;
        for (int j = from; j < to; ) {
            int s = j >> 5, end = Math.min(to, (s + 1) << 5), shift = (s & 1) * 4, q = qs + (s >> 1) * 32;
            float d1 = d * Q4K.scaleMin(data, scales, s, false), m1 = dmin * Q4K.scaleMin(data, scales, s, true);
            for (; j < end; j++) {
                int l = j & 31;
                int v = ((data[q + l] >> shift) & 0xF) + (((data[qh + l] >> s) & 1) << 4);
                dst[dOff++] = d1 * v - m1;
            }
        }
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(half(base)) && Float.isFinite(half(base + 2));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Q5K(blocks, size());
    }
}
