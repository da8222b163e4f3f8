package dev.lora4j.train;

import dev.lora4j.tensor.Nf4;
import dev.lora4j.tensor.WeightStorage;

/**
 * How the frozen base matrices and embeddings are held during training: float32 as loaded, bfloat16 (half their
 * memory), or quantized as QLoRA does on the CPU: Q8_0 and Q4_0 (llama.cpp's blocks of 32 along each row, its reference
 * quantizers) or NF4 (QLoRA's 4-bit NormalFloat, blocks of 64, absmax scale). The GEMMs widen them exactly while packing,
 * so a step computes float32 arithmetic on the rounded or dequantized weights.
 */
public enum BaseDtype {
    F32,
    BF16,
    Q8_0,
    Q4_0,
    NF4;

    /**
     * {@code values} (a frozen matrix whose rows hold {@code rowLength} values) in this quantized format, or null when
     * the format is not a quantization or the rows (Q8_0, Q4_0) or the matrix (NF4) are not whole blocks: such a matrix
     * stays float32, as llama.cpp's converter keeps it unquantized.
     */
    WeightStorage quantize(float[] values, int rowLength) {
        return switch (this) {
            case Q8_0 -> rowLength % dev.lora4j.tensor.Q8_0.BLOCK == 0 ? dev.lora4j.tensor.Q8_0.quantize(values) : null;
            case Q4_0 -> rowLength % dev.lora4j.tensor.Q4_0.BLOCK == 0 ? dev.lora4j.tensor.Q4_0.quantize(values) : null;
            case NF4 -> values.length % Nf4.BLOCK == 0 ? Nf4.quantize(values) : null;
            case F32, BF16 -> null;
        };
    }
}
