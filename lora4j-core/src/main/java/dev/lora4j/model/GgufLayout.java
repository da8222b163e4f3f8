package dev.lora4j.model;

import dev.lora4j.io.gguf.GgufValue;
import java.util.Map;

/**
 * How a family lays a model out in a GGUF file, for writing one: llama.cpp's architecture name, the metadata its
 * config becomes, the GGUF name of each Hugging Face tensor and the order llama.cpp wants its rows in.
 */
public interface GgufLayout {
    /** {@code general.architecture}. */
    String architecture();

    /** The {@code <architecture>.*} keys of the config. */
    Map<String, GgufValue> metadata();

    /** F32 tensors llama.cpp reads that are no model parameter, by GGUF name (llama's rope_freqs.weight). */
    Map<String, float[]> extraTensors();

    /** The GGUF name of an HF tensor name ("model.layers.0.self_attn.q_proj.weight" → "blk.0.attn_q.weight"), or null. */
    String tensorName(String hfName);

    /** source[g] = the HF row that GGUF row g holds, for a tensor of {@code rows} rows; null when rows keep their order. */
    int[] rowOrder(String hfName, int rows);
}
