package dev.lora4j.train;

/**
 * How the frozen base matrices and embeddings are held during training: float32 as loaded, or bfloat16 (half their
 * memory; the GEMMs widen them exactly while packing, so a step computes float32 arithmetic on bf16-rounded weights).
 */
public enum BaseDtype {
    F32,
    BF16
}
