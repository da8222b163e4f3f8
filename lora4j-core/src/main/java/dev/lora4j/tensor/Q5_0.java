package dev.lora4j.tensor;

/**
 * ggml's Q5_0 (block_q5_0, dequantize_row_q5_0): blocks of 32 values, {@code {fp16 d; uint8 qh[4]; uint8 qs[16]}}; value
 * j's low 4 bits are the low nibble of qs[j] for j {@literal <} 16 and the high nibble of qs[j − 16] after, its fifth bit is bit j of
 * the little-endian uint32 qh; value = (q − 16)·d. llama.cpp falls back to it in Q4_K_M files for rows that are not whole
 * k-quant blocks (Qwen2.5-0.5B's 896). Read only.
 */
public final class Q5_0 extends BlockStorage {
    public static final int BLOCK = 32, BLOCK_BYTES = 22;

    public Q5_0(byte[] blocks, int size) {
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
        return "Q5_0";
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float d = half(base);
        int qh = (data[base + 2] & 0xFF) | (data[base + 3] & 0xFF) << 8 | (data[base + 4] & 0xFF) << 16 | (data[base + 5] & 0xFF) << 24;
        for (int j = from; j < to; j++) {
            int nibble = j < 16 ? data[base + 6 + j] & 0x0F : (data[base + 6 + j - 16] >> 4) & 0x0F;
            dst[dOff++] = ((nibble | ((qh >>> j) & 1) << 4) - 16) * d;
        }
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(half(base));
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Q5_0(blocks, size());
    }
}
