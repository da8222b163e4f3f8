package dev.lora4j.tensor;

/**
 * How a tensor's values are held in memory. Parameters, gradients and activations are float32 ({@link F32}); a frozen
 * weight may be held more compactly ({@link Bf16}, {@link F16}, or a block-quantized {@link BlockStorage}: Q8_0, Q4_0,
 * Q5_0, Q4_K, Q5_K, Q6_K, NF4) and is then widened exactly to float32 wherever it is read: while a GEMM packs a panel
 * of it, when a row of it is embedded. Code that reads a weight never asks which storage it has, it widens runs of it
 * (as llama3.java's FloatTensor subclasses are read).
 */
public sealed interface WeightStorage permits WeightStorage.F32, WeightStorage.Bf16, WeightStorage.F16, BlockStorage {
    /** Number of values. */
    int size();

    /** Bytes of memory the values take. */
    long bytes();

    /** dst[dOff + i] = value[off + i] for i in [0, n), exactly (widened to float32). */
    void widen(int off, float[] dst, int dOff, int n);

    /** Plain float32 values. */
    record F32(float[] values) implements WeightStorage {
        @Override
        public int size() {
            return values.length;
        }

        @Override
        public long bytes() {
            return 4L * values.length;
        }

        @Override
        public void widen(int off, float[] dst, int dOff, int n) {
            System.arraycopy(values, off, dst, dOff, n);
        }
    }

    /** bfloat16: the upper 16 bits of each float32 (half the memory; the precision of most released checkpoints). */
    record Bf16(short[] bits) implements WeightStorage {
        /** Rounds each value to nearest bfloat16, ties to even (PyTorch's conversion). */
        public static Bf16 of(float[] values) {
            short[] h = new short[values.length];
            for (int i = 0; i < h.length; i++) h[i] = BFloat16.fromFloat(values[i]);
            return new Bf16(h);
        }

        @Override
        public int size() {
            return bits.length;
        }

        @Override
        public long bytes() {
            return 2L * bits.length;
        }

        @Override
        public void widen(int off, float[] dst, int dOff, int n) {
            for (int i = 0; i < n; i++) dst[dOff + i] = Float.intBitsToFloat(bits[off + i] << 16);
        }
    }

    /** IEEE float16 (GGUF's F16 tensors): half the memory, widened exactly. */
    record F16(short[] bits) implements WeightStorage {
        @Override
        public int size() {
            return bits.length;
        }

        @Override
        public long bytes() {
            return 2L * bits.length;
        }

        @Override
        public void widen(int off, float[] dst, int dOff, int n) {
            for (int i = 0; i < n; i++) dst[dOff + i] = Float.float16ToFloat(bits[off + i]);
        }
    }
}
