package dev.lora4j.train;

import dev.lora4j.tensor.CompactFormat;

/**
 * How the frozen base matrices and embeddings are held during training: float32 as loaded, bfloat16 (half their
 * memory), or quantized as QLoRA does on the CPU: Q8_0 and Q4_0 (llama.cpp's blocks of 32 along each row, its reference
 * quantizers) or NF4 (QLoRA's 4-bit NormalFloat, blocks of 64, absmax scale). The GEMMs widen them exactly while packing,
 * so a step computes float32 arithmetic on the rounded or dequantized weights. A compact base is loaded straight into
 * its format, a matrix at a time, so its float32 values never exist whole.
 */
public enum BaseDtype {
    F32,
    BF16,
    Q8_0,
    Q4_0,
    NF4;

    /**
     * The format the frozen matrices are held in, or null for float32. A matrix whose rows (Q8_0, Q4_0) or values (NF4)
     * are not whole blocks stays float32 ({@link CompactFormat#fits}), as llama.cpp's converter keeps it unquantized.
     */
    CompactFormat format() {
        return switch (this) {
            case F32 -> null;
            case BF16 -> CompactFormat.BF16;
            case Q8_0 -> CompactFormat.Q8_0;
            case Q4_0 -> CompactFormat.Q4_0;
            case NF4 -> CompactFormat.NF4;
        };
    }
}
