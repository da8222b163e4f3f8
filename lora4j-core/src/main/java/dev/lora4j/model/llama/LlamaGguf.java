package dev.lora4j.model.llama;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.io.gguf.GgufValue;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A llama.cpp GGUF file of the llama (also Mistral) or qwen2 architecture as a Llama-family model: the config.json its
 * metadata describes (llama.cpp's keys, llama-model.cpp), its tensors under their HF names, q and k rows put back in
 * HF order (so adapters keep PEFT's meaning), and the matrices kept in their GGUF storage (quantized blocks stay
 * quantized; norms and biases are widened to float32). Llama 3.1+ files carry their RoPE scaling as the tensor
 * {@code rope_freqs.weight} ({@link RopeFactors}), which the model applies as llama.cpp does.
 */
public final class LlamaGguf {
    /** The general.architecture values read. */
    public static final List<String> ARCHITECTURES = List.of("llama", "qwen2");
    private static final long INT = Integer.MAX_VALUE;
    private static final double META_LOW_FREQ_FACTOR = 1, META_HIGH_FREQ_FACTOR = 4;
    private static final int META_ORIGINAL_MAX_POSITIONS = 8192;

    private LlamaGguf() {}

    /** The config.json of the file's metadata; every problem names the GGUF key. */
    public static HfConfig config(GgufFile f) {
        String arch = f.string("general.architecture");
        if (!ARCHITECTURES.contains(arch)) {
            throw new Lora4jException(f.path() + ": general.architecture '" + arch + "' is not a Llama-family architecture (" + String.join(", ", ARCHITECTURES) + ")");
        }
        String p = arch + ".";
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model_type", arch);
        int heads = (int) f.integer(p + "attention.head_count", 1, INT), hidden = (int) f.integer(p + "embedding_length", 1, INT);
        c.put("hidden_size", hidden);
        c.put("intermediate_size", (int) f.integer(p + "feed_forward_length", 1, INT));
        c.put("num_hidden_layers", (int) f.integer(p + "block_count", 1, INT));
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", f.has(p + "attention.head_count_kv") ? (int) f.integer(p + "attention.head_count_kv", 1, heads) : heads);
        int headDim = f.has(p + "attention.key_length") ? (int) f.integer(p + "attention.key_length", 1, INT) : hidden / heads;
        if (f.has(p + "attention.value_length") && f.integer(p + "attention.value_length", 1, INT) != headDim) {
            throw new Lora4jException(f.path() + ": " + p + "attention.value_length differs from the key length " + headDim + " (not supported)");
        }
        if (f.has(p + "rope.dimension_count") && f.integer(p + "rope.dimension_count", 1, INT) != headDim) {
            throw new Lora4jException(f.path() + ": " + p + "rope.dimension_count " + f.integer(p + "rope.dimension_count", 1, INT)
                    + " is not the head dimension " + headDim + " (partial rotary embeddings are not supported)");
        }
        c.put("head_dim", headDim);
        c.put("rms_norm_eps", f.real(p + "attention.layer_norm_rms_epsilon"));
        c.put("rope_theta", f.has(p + "rope.freq_base") ? f.real(p + "rope.freq_base") : 10000.0);
        if (f.has(p + "context_length")) c.put("max_position_embeddings", (int) f.integer(p + "context_length", 1, INT));
        String scaling = f.has(p + "rope.scaling.type") ? f.string(p + "rope.scaling.type") : "none";
        switch (scaling) {
            case "none" -> { }
            case "linear" -> c.putObject("rope_scaling").put("rope_type", "linear").put("factor", f.real(p + "rope.scaling.factor"));
            default -> throw new Lora4jException(f.path() + ": " + p + "rope.scaling.type '" + scaling + "' is not supported (none, linear)");
        }
        c.put("vocab_size", f.shape("token_embd.weight").dim(0));
        c.put("tie_word_embeddings", !f.tensors().containsKey("output.weight"));
        if (arch.equals("llama")) c.put("attention_bias", f.tensors().containsKey("blk.0.attn_q.bias"));
        if (f.has("tokenizer.ggml.bos_token_id")) c.put("bos_token_id", f.integer("tokenizer.ggml.bos_token_id", 0, INT));
        if (f.has("tokenizer.ggml.eos_token_id")) c.put("eos_token_id", f.integer("tokenizer.ggml.eos_token_id", 0, INT));
        if (arch.equals("qwen2")) c.put("use_sliding_window", false);
        return HfConfig.parse(c.toString(), f.path() + " (GGUF metadata)");
    }

    /**
     * The config.json a Hugging Face directory written from the file gets: {@link #config}, plus the llama3 rope_scaling
     * of Meta's Llama 3.1, 3.2 and 3.3 when the file's RoPE factors (rope_freqs.weight) are the ones it gives (within
     * float32 rounding); other factors have no config.json spelling and are refused.
     */
    public static HfConfig hfConfig(GgufFile f) {
        HfConfig config = config(f);
        LlamaConfig llama = LlamaConfig.from(config);
        RopeFactors factors = ropeFactors(f, llama);
        if (factors == null) return config;
        RopeScaling meta = llama.ropeScaling() == null ? metaLlama3(factors, llama) : null;
        if (meta == null) {
            throw new Lora4jException(f.path() + ": tensor '" + RopeFactors.GGUF_TENSOR + "' (llama.cpp's per-dimension RoPE factors) holds"
                    + " factors that no config.json rope_scaling lora4j writes gives (llama3 with low_freq_factor " + META_LOW_FREQ_FACTOR
                    + ", high_freq_factor " + META_HIGH_FREQ_FACTOR + ", original_max_position_embeddings " + META_ORIGINAL_MAX_POSITIONS
                    + "): a Hugging Face directory cannot be written from this file (to-gguf can)");
        }
        ObjectNode c = ((ObjectNode) config.raw()).deepCopy();
        c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", meta.factor()).put("low_freq_factor", meta.lowFreqFactor())
                .put("high_freq_factor", meta.highFreqFactor()).put("original_max_position_embeddings", meta.originalMaxPositionEmbeddings());
        return HfConfig.parse(c.toString(), config.source());
    }

    /** Meta's llama3 rope_scaling (Llama 3.1, 3.2, 3.3) with the largest factor as its factor, if it gives {@code factors}; else null. */
    private static RopeScaling metaLlama3(RopeFactors factors, LlamaConfig c) {
        float[] v = factors.values();
        float max = 0;
        for (float x : v) max = Math.max(max, x);
        if (!(max > 1)) return null;
        RopeScaling s = new RopeScaling("llama3", max, META_LOW_FREQ_FACTOR, META_HIGH_FREQ_FACTOR, META_ORIGINAL_MAX_POSITIONS);
        float[] expected = RopeFactors.llama3(s, RotaryEmbedding.defaultInvFreq(c.headDim(), c.ropeTheta())).values();
        for (int i = 0; i < v.length; i++) if (Math.abs(expected[i] - v[i]) > 1e-6 * v[i]) return null;
        return s;
    }

    /** The RoPE factors of the file, or null without rope_freqs.weight; a wrong length or value names the file and tensor. */
    static RopeFactors ropeFactors(GgufFile f, LlamaConfig config) {
        if (!f.tensors().containsKey(RopeFactors.GGUF_TENSOR)) return null;
        String where = f.path() + ": tensor '" + RopeFactors.GGUF_TENSOR + "'";
        Shape shape = f.shape(RopeFactors.GGUF_TENSOR);
        if (shape.rank() != 1 || shape.dim(0) != config.headDim() / 2) {
            throw new Lora4jException(where + " has shape " + shape + ", expected [" + config.headDim() / 2 + "] (head_dim / 2)");
        }
        float[] v = new float[config.headDim() / 2];
        f.read(RopeFactors.GGUF_TENSOR).widen(0, v, 0, v.length);
        try {
            return new RopeFactors(v);
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(where + ": " + e.getMessage(), e);
        }
    }

    /** The rope_freqs.weight to write for a model: the factors it was read with, those of a "llama3" rope_scaling, or null. */
    public static RopeFactors ropeFactors(LlamaModel m) {
        LlamaConfig c = m.config();
        if (m.ropeFactors() != null) return m.ropeFactors();
        if (c.ropeScaling() == null || !c.ropeScaling().type().equals("llama3")) return null;
        return RopeFactors.llama3(c.ropeScaling(), RotaryEmbedding.defaultInvFreq(c.headDim(), c.ropeTheta()));
    }

    /** llama.cpp's architecture for a config: llama (also for mistral) or qwen2. */
    public static String architecture(LlamaConfig c) {
        return c.modelType().equals("qwen2") ? "qwen2" : "llama";
    }

    /**
     * The {@code <arch>.*} metadata of a config, as convert_hf_to_gguf.py writes it (Llama 3 RoPE scaling has none: it
     * is the rope_freqs tensor, {@link #ropeFactors(LlamaModel)}). What llama.cpp cannot represent is refused: sliding
     * windows, MLP biases.
     */
    public static Map<String, GgufValue> metadata(LlamaConfig c) {
        if (c.slidingWindows().stream().anyMatch(w -> w > 0 && w < c.maxPositionEmbeddings())) {
            throw new Lora4jException("a sliding attention window (" + c.slidingWindows() + ") cannot be written to GGUF: llama.cpp's "
                    + architecture(c) + " attends to every position");
        }
        if (c.mlpBias()) throw new Lora4jException("MLP biases (mlp_bias) cannot be written to GGUF: llama.cpp's llama has none");
        String p = architecture(c) + ".";
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put(p + "vocab_size", GgufValue.uint32(c.vocabSize()));
        kv.put(p + "context_length", GgufValue.uint32(c.maxPositionEmbeddings()));
        kv.put(p + "embedding_length", GgufValue.uint32(c.hiddenSize()));
        kv.put(p + "block_count", GgufValue.uint32(c.numHiddenLayers()));
        kv.put(p + "feed_forward_length", GgufValue.uint32(c.intermediateSize()));
        kv.put(p + "attention.head_count", GgufValue.uint32(c.numAttentionHeads()));
        kv.put(p + "attention.head_count_kv", GgufValue.uint32(c.numKeyValueHeads()));
        kv.put(p + "attention.key_length", GgufValue.uint32(c.headDim()));
        kv.put(p + "attention.value_length", GgufValue.uint32(c.headDim()));
        kv.put(p + "rope.dimension_count", GgufValue.uint32(c.headDim()));
        kv.put(p + "rope.freq_base", GgufValue.float32((float) c.ropeTheta()));
        kv.put(p + "attention.layer_norm_rms_epsilon", GgufValue.float32(c.rmsNormEps()));
        if (c.ropeScaling() != null && c.ropeScaling().type().equals("linear")) {
            kv.put(p + "rope.scaling.type", GgufValue.string("linear"));
            kv.put(p + "rope.scaling.factor", GgufValue.float32((float) c.ropeScaling().factor()));
        }
        return kv;
    }

    /**
     * Checks the tensors against the config before the model is allocated, then builds and loads it: quantized matrices
     * stay in their blocks, float32 ones are held as {@code holding} says.
     */
    public static LlamaModel load(GgufFile f, WeightHolding holding) {
        LlamaConfig config = LlamaConfig.from(config(f));
        StateDict.Source source = source(f, config);
        StateDict.requireLayers(source, k -> k, "model.layers.", config.numHiddenLayers(), f.string("general.architecture") + ".block_count");
        StateDict.check(LlamaLoader.parameterShapes(config), source, k -> k, name -> false);
        LlamaModel model = new LlamaModel(config, ropeFactors(f, config));
        StateDict.load(model.module(), source, k -> k, name -> false, holding.formats(model));
        return model;
    }

    /** The file's tensors under HF names (a name without one is listed as is, so loading reports it as unexpected). */
    private static StateDict.Source source(GgufFile f, LlamaConfig config) {
        String arch = f.string("general.architecture");
        Map<String, String> byHf = new TreeMap<>();
        for (String g : f.tensors().keySet()) {
            if (g.equals(RopeFactors.GGUF_TENSOR)) continue;   // not a parameter: read by ropeFactors
            String hf = LlamaGgufNames.hfName(g);
            byHf.put(hf == null ? g : hf, g);
        }
        return new StateDict.Source() {
            public List<String> names() {
                return new ArrayList<>(byHf.keySet());
            }

            public Shape shape(String name) {
                return f.shape(byHf.get(name));
            }

            public WeightStorage storage(String name) {
                return shape(name).rank() == 2 ? read(name) : null;
            }

            public void readInto(String name, float[] dst) {
                read(name).widen(0, dst, 0, dst.length);
            }

            public void readRange(String name, int from, float[] dst, int n) {
                read(name).widen(from, dst, 0, n);
            }

            private WeightStorage read(String name) {
                WeightStorage s = f.read(byHf.get(name));
                int heads = LlamaGgufNames.permutedHeads(arch, name, config);
                if (heads == 0) return s;
                Shape shape = shape(name);
                int rows = shape.dim(0), rowLength = shape.rank() == 2 ? shape.dim(1) : 1;
                if (rows % (2 * heads) != 0) {
                    throw new Lora4jException(f.path() + ": tensor '" + byHf.get(name) + "' has " + rows + " rows, not whole pairs in " + heads + " heads");
                }
                return permuteRows(s, rowLength, LlamaGgufNames.hfRowsFromGguf(rows, heads));
            }

            public String source() {
                return f.path().toString();
            }
        };
    }

    /** Row r of the result is row source[r] of {@code s} (rows of {@code rowLength} values), in the same storage. */
    public static WeightStorage permuteRows(WeightStorage s, int rowLength, int[] source) {
        return switch (s) {
            case BlockStorage b -> b.permuteRows(rowLength, source);
            case WeightStorage.F32(float[] v) -> {
                float[] out = new float[v.length];
                for (int r = 0; r < source.length; r++) System.arraycopy(v, source[r] * rowLength, out, r * rowLength, rowLength);
                yield new WeightStorage.F32(out);
            }
            case WeightStorage.F16(short[] v) -> new WeightStorage.F16(permute(v, rowLength, source));
            case WeightStorage.Bf16(short[] v) -> new WeightStorage.Bf16(permute(v, rowLength, source));
        };
    }

    private static short[] permute(short[] v, int rowLength, int[] source) {
        short[] out = new short[v.length];
        for (int r = 0; r < source.length; r++) System.arraycopy(v, source[r] * rowLength, out, r * rowLength, rowLength);
        return out;
    }
}
