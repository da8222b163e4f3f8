// The compact formats a frozen float32 matrix is stored in: bfloat16 (PyTorch's rounding), ggml's Q8_0 and Q4_0
// (llama.cpp's reference quantizers) and QLoRA's NF4 (bitsandbytes' blockwise quantizer).
// Every block depends only on its own values, so a matrix is encoded a chunk of values at a time, as it is read.
package dev.lora4j.tensor;

/**
 * A format a frozen matrix is held in instead of float32 ({@code --base-dtype}). {@link #encode(float[])} converts
 * values in memory; {@link #encode(int, Values)} converts a matrix as it is read, {@link #CHUNK} values at a time, so
 * its float32 values never exist in memory at once (a model loaded straight into the format). Both give the same bits.
 */
public enum CompactFormat {
    BF16,
    Q8_0,
    Q4_0,
    NF4;

    /** Values converted at a time by {@link #encode(int, Values)}: a whole number of blocks of every format (256 KB of float32). */
    public static final int CHUNK = 1 << 16;

    /** Where {@link #encode(int, Values)} reads a matrix from: its flat row-major values, a run at a time. */
    @FunctionalInterface
    public interface Values {
        /** dst[0, n) = values [from, from + n). */
        void read(int from, float[] dst, int n);
    }

    /**
     * Whether a tensor of {@code shape} is held in this format: a matrix (rank 2) whose rows (Q8_0, Q4_0) or values
     * (NF4) are whole blocks; any matrix for bfloat16. Others stay float32, as llama.cpp's converter keeps them.
     */
    public boolean fits(Shape shape) {
        if (shape.rank() != 2) return false;
        return switch (this) {
            case BF16 -> true;
            case Q8_0 -> shape.dim(1) % dev.lora4j.tensor.Q8_0.BLOCK == 0;
            case Q4_0 -> shape.dim(1) % dev.lora4j.tensor.Q4_0.BLOCK == 0;
            case NF4 -> shape.size() % Nf4.BLOCK == 0;
        };
    }

    /** {@code values} in this format (for a block format, a whole number of blocks). */
    public WeightStorage encode(float[] values) {
        return switch (this) {
            case BF16 -> WeightStorage.Bf16.of(values);
            case Q8_0 -> dev.lora4j.tensor.Q8_0.quantize(values);
            case Q4_0 -> dev.lora4j.tensor.Q4_0.quantize(values);
            case NF4 -> Nf4.quantize(values);
        };
    }

    /**
     * The {@code size} values of {@code src} in this format, read {@link #CHUNK} values at a time into one buffer: the
     * same bits as {@link #encode(float[])} on all of them, with at most one chunk of float32 in memory.
     */
    public WeightStorage encode(int size, Values src) {
        int block = blockSize();
        if (size % block != 0) throw new IllegalArgumentException(this + ": " + size + " values are not whole blocks of " + block);
        float[] chunk = new float[Math.min(size, CHUNK)];
        short[] halves = this == BF16 ? new short[size] : null;
        byte[] blocks = this == BF16 ? null : new byte[size / block * blockBytes()];
        for (int from = 0; from < size; from += chunk.length) {
            int n = Math.min(chunk.length, size - from);
            src.read(from, chunk, n);
            switch (this) {
                case BF16 -> {
                    for (int i = 0; i < n; i++) halves[from + i] = BFloat16.fromFloat(chunk[i]);
                }
                case Q8_0 -> dev.lora4j.tensor.Q8_0.encode(blocks, from / block * blockBytes(), chunk, 0, n / block);
                case Q4_0 -> dev.lora4j.tensor.Q4_0.encode(blocks, from / block * blockBytes(), chunk, 0, n / block);
                case NF4 -> Nf4.encode(blocks, from / block * blockBytes(), chunk, 0, n / block);
            }
        }
        return switch (this) {
            case BF16 -> new WeightStorage.Bf16(halves);
            case Q8_0 -> new dev.lora4j.tensor.Q8_0(blocks, size);
            case Q4_0 -> new dev.lora4j.tensor.Q4_0(blocks, size);
            case NF4 -> new Nf4(blocks, size);
        };
    }

    /** Values per block (1 for bfloat16). */
    private int blockSize() {
        return switch (this) {
            case BF16 -> 1;
            case Q8_0 -> dev.lora4j.tensor.Q8_0.BLOCK;
            case Q4_0 -> dev.lora4j.tensor.Q4_0.BLOCK;
            case NF4 -> Nf4.BLOCK;
        };
    }

    /** Bytes per block of a block format. */
    private int blockBytes() {
        return switch (this) {
            case BF16 -> 2;
            case Q8_0 -> dev.lora4j.tensor.Q8_0.BLOCK_BYTES;
            case Q4_0 -> dev.lora4j.tensor.Q4_0.BLOCK_BYTES;
            case NF4 -> Nf4.BLOCK_BYTES;
        };
    }
}
