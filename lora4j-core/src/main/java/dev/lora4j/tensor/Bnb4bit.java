package dev.lora4j.tensor;

/**
 * A weight of a bitsandbytes 4-bit checkpoint (transformers' load_in_4bit), dequantized as bitsandbytes'
 * dequantize_4bit does it: code[q]·absmax in float32, then cast to the checkpoint's dtype (quant_state "dtype"). Held
 * as blocks {@code {float32 absmax; uint8 q[blockSize / 2]}}, the first of two values in the high nibble as
 * bitsandbytes packs them; any block size bitsandbytes allows (32 to 4096), NF4 or FP4 code book. With double
 * quantization the absmax values are dequantized once, when the blocks are built (they are then exact float32).
 */
public final class Bnb4bit extends BlockStorage {
    /** bitsandbytes' quant_type: which 16 values a 4-bit code indexes (functional.get_4bit_type). */
    public enum QuantType {
        NF4(Nf4.CODE.clone()),
        /**
         * Sign bit, 2 exponent bits, 1 mantissa bit, in bit-pattern order, divided by the largest magnitude (12); code 8
         * is +0 as in get_4bit_type's table (its "-0" is Python's integer 0).
         */
        FP4(fp4());

        private final float[] code;

        QuantType(float[] code) {
            this.code = code;
        }

        /** The 16 values (a copy). */
        public float[] code() {
            return code.clone();
        }

        private static float[] fp4() {
            float[] raw = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f, 0f, -0.0625f, -8f, -12f, -4f, -6f, -2f, -3f};
            for (int i = 0; i < raw.length; i++) raw[i] /= 12f;
            return raw;
        }
    }

    /** The dtype bitsandbytes casts the dequantized values to (quant_state "dtype"): the model's dtype when it was quantized. */
    public enum Dtype {
        FLOAT32, BFLOAT16, FLOAT16;

        float round(float v) {
            return switch (this) {
                case FLOAT32 -> v;
                case BFLOAT16 -> BFloat16.toFloat(BFloat16.fromFloat(v));
                case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            };
        }
    }

    private final QuantType type;
    private final int blockSize;
    private final Dtype dtype;
    private final float[] code;

    /** {@code blocks}: {@code size / blockSize} blocks of {@code 4 + blockSize / 2} bytes (absmax little-endian, then codes). */
    public Bnb4bit(QuantType type, int blockSize, Dtype dtype, byte[] blocks, int size) {
        if (blockSize < 2 || blockSize % 2 != 0) throw new IllegalArgumentException("bitsandbytes 4-bit: block size " + blockSize + " is not even");
        this.type = type;
        this.blockSize = blockSize;
        this.dtype = dtype;
        this.code = type.code;
        super(blocks, size);
    }

    /**
     * The blocks of {@code size} values from bitsandbytes' arrays: {@code packed} holds two codes a byte (at least
     * size / 2 bytes), {@code absmax} one float32 per block.
     */
    public static Bnb4bit of(QuantType type, int blockSize, Dtype dtype, byte[] packed, float[] absmax, int size) {
        int blocks = size / blockSize, half = blockSize / 2;
        byte[] b = new byte[blocks * (4 + half)];
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * (4 + half), bits = Float.floatToRawIntBits(absmax[blk]);
            for (int k = 0; k < 4; k++) b[o + k] = (byte) (bits >> 8 * k);
            System.arraycopy(packed, blk * half, b, o + 4, half);
        }
        return new Bnb4bit(type, blockSize, dtype, b, size);
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int blockBytes() {
        return 4 + blockSize / 2;
    }

    @Override
    public String name() {
        return "bitsandbytes " + type + "/" + blockSize;
    }

    @Override
    protected void decode(int base, int from, int to, float[] dst, int dOff) {
        float absmax = absmax(base);
        for (int j = from; j < to; j++) {
            int packed = data[base + 4 + (j >> 1)];
            dst[dOff++] = dtype.round(code[(j & 1) == 0 ? (packed >> 4) & 0xF : packed & 0xF] * absmax);
        }
    }

    private float absmax(int base) {
        return Float.intBitsToFloat((data[base] & 0xFF) | (data[base + 1] & 0xFF) << 8 | (data[base + 2] & 0xFF) << 16 | data[base + 3] << 24);
    }

    @Override
    protected boolean finiteBlock(int base) {
        return Float.isFinite(dtype.round(absmax(base)));      // |code| <= 1: every value of the block is finite then
    }

    @Override
    protected BlockStorage withBlocks(byte[] blocks) {
        return new Bnb4bit(type, blockSize, dtype, blocks, size());
    }
}
