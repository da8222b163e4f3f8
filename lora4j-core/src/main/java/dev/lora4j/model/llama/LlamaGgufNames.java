package dev.lora4j.model.llama;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tensor names of llama.cpp's llama and qwen2 architectures (gguf-py tensor_mapping.py / constants.py) and their
 * Hugging Face keys, both ways, and the row permutation llama.cpp's converter applies to q and k of the llama
 * architecture (convert_hf_to_gguf.py LlamaModel.permute: within each head, GGUF row 2j+s is HF row s·(hd/2)+j, for
 * its RoPE on adjacent pairs; qwen2 rotates halves as HF does and is not permuted).
 */
public final class LlamaGgufNames {
    private LlamaGgufNames() {}

    private static final Map<String, String> LAYER = Map.of(
            "attn_norm", "input_layernorm", "attn_q", "self_attn.q_proj", "attn_k", "self_attn.k_proj", "attn_v", "self_attn.v_proj",
            "attn_output", "self_attn.o_proj", "ffn_norm", "post_attention_layernorm", "ffn_gate", "mlp.gate_proj",
            "ffn_up", "mlp.up_proj", "ffn_down", "mlp.down_proj");
    private static final Map<String, String> LAYER_BACK = invert(LAYER);
    private static final Pattern GGUF_LAYER = Pattern.compile("blk\\.(\\d{1,9})\\.([a-z_]+)\\.(weight|bias)");
    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d{1,9})\\.(.+)\\.(weight|bias)");

    /** The HF key of a GGUF tensor name, or null for a name the llama family does not have. */
    public static String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
            default:
        }
        Matcher m = GGUF_LAYER.matcher(gguf);
        if (!m.matches() || !LAYER.containsKey(m.group(2))) return null;
        return "model.layers." + Integer.parseInt(m.group(1)) + "." + LAYER.get(m.group(2)) + "." + m.group(3);
    }

    /** The GGUF name of an HF key (or of a module path plus ".weight"), or null for one llama.cpp has no name for. */
    public static String ggufName(String hf) {
        switch (hf) {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
            default:
        }
        Matcher m = HF_LAYER.matcher(hf);
        if (!m.matches() || !LAYER_BACK.containsKey(m.group(2))) return null;
        return "blk." + Integer.parseInt(m.group(1)) + "." + LAYER_BACK.get(m.group(2)) + "." + m.group(3);
    }

    /**
     * For the llama architecture's q and k (weights and biases, HF names), the number of heads whose rows llama.cpp
     * permutes (attention heads for q, KV heads for k); 0 for every other tensor and architecture.
     */
    public static int permutedHeads(String architecture, String hf, LlamaConfig c) {
        if (!architecture.equals("llama")) return 0;
        if (hf.matches("model\\.layers\\.\\d+\\.self_attn\\.q_proj\\.(weight|bias)")) return c.numAttentionHeads();
        if (hf.matches("model\\.layers\\.\\d+\\.self_attn\\.k_proj\\.(weight|bias)")) return c.numKeyValueHeads();
        return 0;
    }

    /**
     * source[r] = the GGUF row that holds HF row r, for {@code rows} rows in {@code heads} heads: HF row h·hd + s·(hd/2) + j
     * is GGUF row h·hd + 2j + s. Reading GGUF rows in this order undoes the converter's permutation.
     */
    public static int[] hfRowsFromGguf(int rows, int heads) {
        int hd = rows / heads, half = hd / 2;
        int[] source = new int[rows];
        for (int h = 0; h < heads; h++) {
            for (int s = 0; s < 2; s++) {
                for (int j = 0; j < half; j++) source[h * hd + s * half + j] = h * hd + 2 * j + s;
            }
        }
        return source;
    }

    /** source[g] = the HF row that GGUF row g holds (the converter's permutation, the inverse of {@link #hfRowsFromGguf}). */
    public static int[] ggufRowsFromHf(int rows, int heads) {
        int[] hfFromGguf = hfRowsFromGguf(rows, heads), out = new int[rows];
        for (int r = 0; r < rows; r++) out[hfFromGguf[r]] = r;
        return out;
    }

    private static Map<String, String> invert(Map<String, String> m) {
        Map<String, String> out = new java.util.HashMap<>();
        m.forEach((k, v) -> out.put(v, k));
        return Map.copyOf(out);
    }
}
