package dev.lora4j.tensor;

/**
 * A frozen weight held in a block-quantized format, its bytes exactly as ggml (or bitsandbytes) lays them out: the
 * values, flat in row-major order, cut into blocks of {@link #blockSize()} values, each block {@link #blockBytes()}
 * bytes. {@link #widen} dequantizes any run of values, starting anywhere (a GEMM panel may begin mid-block), with the
 * formula of the reference implementation, so the float32 values are the reference's, bit for bit.
 */
public abstract sealed class BlockStorage implements WeightStorage permits Q8_0, Q4_0, Q5_0, Q4K, Q5K, Q6K, Nf4, Bnb4bit {
    /** The blocks, back to back. */
    protected final byte[] data;
    private final int size;

    protected BlockStorage(byte[] data, int size) {
        if (size < 0 || size % blockSize() != 0) {
            throw new IllegalArgumentException(name() + ": " + size + " values are not a whole number of blocks of " + blockSize());
        }
        if (data.length != (long) size / blockSize() * blockBytes()) {
            throw new IllegalArgumentException(name() + ": " + size + " values take " + (long) size / blockSize() * blockBytes()
                    + " bytes, got " + data.length);
        }
        this.data = data;
        this.size = size;
    }

    /** Values per block. */
    public abstract int blockSize();

    /** Bytes per block. */
    public abstract int blockBytes();

    /** The format's name as llama.cpp (or bitsandbytes) spells it: "Q8_0", "Q4_K", "NF4". */
    public abstract String name();

    /**
     * dst[dOff + i] = value(block·blockSize + from + i) for i in [0, to − from), within one block
     * (0 ≤ from {@literal <} to ≤ blockSize); {@code base} is the block's first byte in {@link #data}.
     */
    protected abstract void decode(int base, int from, int to, float[] dst, int dOff);

    /** Whether the block at byte {@code base} has finite scales (then all its values are finite). */
    protected abstract boolean finiteBlock(int base);

    /** The first block whose scale is NaN or infinite, or −1. */
    public final int firstNonFiniteBlock() {
        for (int b = 0; b < size / blockSize(); b++) if (!finiteBlock(b * blockBytes())) return b;
        return -1;
    }

    /** The raw blocks (a copy): what a GGUF file holds for this tensor. */
    public final byte[] blocks() {
        return data.clone();
    }

    /**
     * The blocks themselves, not a copy: for the kernels that read them in place (decoding's dot products widen them in
     * registers). Never written through.
     */
    public final byte[] blocksInPlace() {
        return data;
    }

    /**
     * The same format with whole rows of {@code rowLength} values reordered: row r of the result is row
     * {@code source[r]} of this one. Rows must be whole blocks (ggml requires it of every quantized tensor).
     */
    public final BlockStorage permuteRows(int rowLength, int[] source) {
        if (rowLength % blockSize() != 0 || (long) rowLength * source.length != size) {
            throw new IllegalArgumentException(name() + ": rows of " + rowLength + " × " + source.length + " do not tile " + size
                    + " values in blocks of " + blockSize());
        }
        int rowBytes = rowLength / blockSize() * blockBytes();
        byte[] out = new byte[data.length];
        for (int r = 0; r < source.length; r++) System.arraycopy(data, source[r] * rowBytes, out, r * rowBytes, rowBytes);
        return withBlocks(out);
    }

    /** A storage of this format over {@code blocks}. */
    protected abstract BlockStorage withBlocks(byte[] blocks);

    @Override
    public final int size() {
        return size;
    }

    @Override
    public final long bytes() {
        return data.length;
    }

    @Override
    public final void widen(int off, float[] dst, int dOff, int n) {
        int bs = blockSize();
        int block = off / bs, from = off - block * bs;
        while (n > 0) {
            int to = Math.min(bs, from + n);
            decode(block * blockBytes(), from, to, dst, dOff);
            dOff += to - from;
            n -= to - from;
            block++;
            from = 0;
        }
    }

    /** The float16 at data[i], little-endian, widened (exact). */
    protected final float half(int i) {
        return Float.float16ToFloat((short) ((data[i] & 0xFF) | (data[i + 1] << 8)));
    }

    /** C's roundf: the nearest integer, halves away from zero (exact: |x| + 0.5 is computed in double). */
    static int roundHalfAway(float x) {
        return (int) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }

    /** Writes the float16 nearest to {@code v} (ties to even, as ggml's GGML_FP32_TO_FP16) at b[i], little-endian. */
    static void putHalf(byte[] b, int i, float v) {
        short h = Float.floatToFloat16(v);
        b[i] = (byte) h;
        b[i + 1] = (byte) (h >> 8);
    }
}
