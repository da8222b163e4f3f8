package dev.lora4j.tensor;

/**
 * ggml's Q6_K (block_q6_K, dequantize_row_q6_K): super-blocks of 256 values, {@code {uint8 ql[128]; uint8 qh[64];
 * int8 scales[16]; fp16 d}}. Value e: half h = e/128, quarter k = (e%128)/32, l = e%32; its low 4 bits are a nibble of
 * ql[64h + l + 32(k&amp;1)] (low for k {@literal <} 2), its high 2 bits are bits 2k of qh[32h + l]; value = (d·scales[8h + l/16 + 2k])·(q − 32).
 * Read only.
 */
public final class Q6K extends BlockStorage {
    public static final int BLOCK = 256, BLOCK_BYTES = 210;

    public Q6K(byte[] blocks, int size) {
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
        return "Q6_K";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float d = half(base + 208);
        int ql = base, qh = base + 128, sc = base + 192;
        for (int e = from; e < to; ) {
            int h = e >> 7, k = (e >> 5) & 3, group = e >> 4, end = Math.min(to, (group + 1) << 4);
            int shift = k < 2 ? 0 : 4;
            float ds = d * data[sc + 8 * h + ((e & 31) >> 4) + 2 * k];
            int lo = ql + 64 * h + 32 * (k & 1), hi = qh + 32 * h;
            for (; e < end; e++) {
                int l = e & 31;
                int q = (((data[lo + l] >> shift) & 0xF) | (((data[hi + l] >> (2 * k)) & 3) << 4)) - 32;
                dst[dOff++] = ds * q;
            }
        }
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(half(base + 208));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Q6K(blocks, size());
    }
}
