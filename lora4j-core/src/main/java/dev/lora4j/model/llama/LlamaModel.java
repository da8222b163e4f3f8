package dev.lora4j.model.llama;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Add;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.GroupedQueryAttention;
import dev.lora4j.autograd.LmHeadLoss;
import dev.lora4j.autograd.MatMul;
import dev.lora4j.autograd.Rope;
import dev.lora4j.autograd.SwiGlu;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.CachedGroupedAttention;
import dev.lora4j.nn.KvCache;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleList;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM as HF computes them (modeling_llama.py,
 * modeling_mistral.py, modeling_qwen2.py): token embeddings, pre-RMSNorm decoder layers of grouped-query
 * causal attention with rotary embeddings (rotate-half layout) and a SwiGLU MLP, a final RMSNorm, and
 * {@code lm_head} (or the embedding matrix when tied). The root holds {@code model} and {@code lm_head} as
 * HF's module tree does, so parameter names are the checkpoint keys ({@code model.layers.0.self_attn.q_proj.weight})
 * and module names are PEFT's paths. Read leaves first: Attention, Mlp, DecoderLayer, Decoder, then the model.
 * {@link #forwardCached} is the same network for generation; the cache holds keys after RoPE.
 */
public final class LlamaModel extends Module implements CausalLm {

    /** self_attn: q_proj (C → NH·HD), k_proj and v_proj (C → NKV·HD), o_proj (NH·HD → C). */
    static final class Attention extends Module {
        Attention(LlamaConfig c) {
            int q = c.numAttentionHeads() * c.headDim(), kv = c.numKeyValueHeads() * c.headDim();
            registerChild("q_proj", new Linear(c.hiddenSize(), q, c.qkvBias(), false));
            registerChild("k_proj", new Linear(c.hiddenSize(), kv, c.qkvBias(), false));
            registerChild("v_proj", new Linear(c.hiddenSize(), kv, c.qkvBias(), false));
            registerChild("o_proj", new Linear(q, c.hiddenSize(), c.oProjBias(), false));
        }
    }

    /** mlp: down_proj(silu(gate_proj(x)) · up_proj(x)), gate and up C → I, down I → C. */
    static final class Mlp extends Module {
        Mlp(LlamaConfig c) {
            registerChild("gate_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias(), false));
            registerChild("up_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias(), false));
            registerChild("down_proj", new Linear(c.intermediateSize(), c.hiddenSize(), c.mlpBias(), false));
        }
    }

    /** model.layers.N: x + self_attn(input_layernorm(x)), then + mlp(post_attention_layernorm(·)). */
    static final class DecoderLayer extends Module {
        DecoderLayer(LlamaConfig c) {
            registerChild("self_attn", new Attention(c));
            registerChild("mlp", new Mlp(c));
            registerChild("input_layernorm", new LlamaRmsNorm(c.hiddenSize(), c.rmsNormEps()));
            registerChild("post_attention_layernorm", new LlamaRmsNorm(c.hiddenSize(), c.rmsNormEps()));
        }
    }

    /** model (HF's LlamaModel): embed_tokens, layers, norm. */
    static final class Decoder extends Module {
        Decoder(LlamaConfig c) {
            registerChild("embed_tokens", new Embedding(c.vocabSize(), c.hiddenSize()));
            List<DecoderLayer> layers = new ArrayList<>();
            for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new DecoderLayer(c));
            registerChild("layers", new ModuleList<>(layers));
            registerChild("norm", new LlamaRmsNorm(c.hiddenSize(), c.rmsNormEps()));
        }
    }

    /** The attention of one layer over rotated q, k and v: the training op or the cached one. */
    private interface Attend {
        Tensor apply(int layer, Tensor q, Tensor k, Tensor v);
    }

    private final LlamaConfig config;
    private final Decoder model;
    private final Embedding embedTokens;
    private final ModuleList<DecoderLayer> layers;
    private final RotaryEmbedding rotary;

    @SuppressWarnings("unchecked")
    public LlamaModel(LlamaConfig config) {
        this.config = config;
        this.model = registerChild("model", new Decoder(config));
        if (!config.tieWordEmbeddings()) registerChild("lm_head", new Linear(config.hiddenSize(), config.vocabSize(), false, false));
        this.embedTokens = (Embedding) model.child("embed_tokens");
        this.layers = (ModuleList<DecoderLayer>) model.child("layers");
        this.rotary = new RotaryEmbedding(config.headDim(), config.ropeTheta(), config.ropeScaling());
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public String modelType() {
        return config.modelType();
    }

    @Override
    public Module module() {
        return this;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public OptionalInt eosTokenId() {
        return config.eosTokenId();
    }

    @Override
    public int maxPositions() {
        return config.maxPositionEmbeddings();
    }

    @Override
    public String outputHead() {
        return config.tieWordEmbeddings() ? null : "lm_head";   // tied: a MatMul over embed_tokens, not a module
    }

    @Override
    public String peftPrefix() {
        return "";
    }

    @Override
    public Map<String, Object> sizes() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("num_hidden_layers", config.numHiddenLayers());
        m.put("hidden_size", config.hiddenSize());
        m.put("num_attention_heads", config.numAttentionHeads());
        m.put("num_key_value_heads", config.numKeyValueHeads());
        m.put("head_dim", config.headDim());
        m.put("intermediate_size", config.intermediateSize());
        m.put("vocab_size", config.vocabSize());
        m.put("max_position_embeddings", config.maxPositionEmbeddings());
        return m;
    }

    /** Logits (B·T, V) for token ids (B·T, row-major by batch); positions 0 .. T − 1 in every row. */
    @Override
    public Tensor forward(Tape tape, int[] ids, int B, int T) {
        return head(tape, hidden(tape, ids, B, T));                                             // (B·T, V)
    }

    /**
     * The head fused with the cross-entropy (the (B·T, V) logits never exist) when it is the tied embedding
     * or a plain lm_head; an lm_head wrapped by LoRA goes the unfused way.
     */
    @Override
    public Tensor loss(Tape tape, int[] ids, int B, int T, int[] targets) {
        if (config.tieWordEmbeddings()) return LmHeadLoss.apply(tape, hidden(tape, ids, B, T), embedTokens.weight(), targets);
        if (child("lm_head") instanceof Linear head && head.getClass() == Linear.class) {
            return LmHeadLoss.apply(tape, hidden(tape, ids, B, T), head.weight(), targets);
        }
        return CrossEntropy.apply(tape, forward(tape, ids, B, T), targets);
    }

    /** The final hidden states (B·T, C), after model.norm. */
    private Tensor hidden(Tape tape, int[] ids, int B, int T) {
        if (ids.length != B * T) throw new IllegalArgumentException(ids.length + " ids for a batch of " + B + " × " + T);
        if (T > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence length " + T + " exceeds max_position_embeddings " + config.maxPositionEmbeddings());
        }
        int NH = config.numAttentionHeads(), NKV = config.numKeyValueHeads();
        Tensor x = embedTokens.forward(tape, ids);                                            // (B·T, C)
        x = decoderLayers(tape, x, B, T, rotary.tables(0, T),
                (l, q, k, v) -> GroupedQueryAttention.apply(tape, q, k, v, B, T, NH, NKV, config.slidingWindow(l)));
        return model.layer("norm").forward(tape, x);                                            // (B·T, C)
    }

    @Override
    public KvCache newKvCache(int capacity) {
        if (capacity < 1 || capacity > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("KV cache capacity " + capacity + " is outside [1, " + config.maxPositionEmbeddings()
                    + "] (max_position_embeddings)");
        }
        return new KvCache(config.numHiddenLayers(), capacity, config.numKeyValueHeads() * config.headDim());
    }

    /** {@link #forward} for batch 1 continuing {@code cache}: no tape; every linear still goes through {@code layer(...)}. */
    @Override
    public Tensor forwardCached(int[] newIds, KvCache cache, int logitsToKeep) {
        int T = newIds.length, past = cache.length(), C = config.hiddenSize();
        int NH = config.numAttentionHeads(), NKV = config.numKeyValueHeads(), N = config.maxPositionEmbeddings();
        if (T < 1) throw new IllegalArgumentException("forwardCached needs at least one new token");
        if (logitsToKeep < 0 || logitsToKeep > T) throw new IllegalArgumentException("logitsToKeep " + logitsToKeep + " is outside [0, " + T + "]");
        if (cache.layers() != config.numHiddenLayers() || cache.width() != NKV * config.headDim()) {
            throw new IllegalArgumentException("KV cache of " + cache.layers() + " layers × " + cache.width() + " does not fit this model ("
                    + config.numHiddenLayers() + " × " + NKV * config.headDim() + ")");
        }
        if (past + T > N) throw new Lora4jException(past + " cached + " + T + " new tokens exceed the model's context max_position_embeddings " + N);
        if (past + T > cache.capacity()) {
            throw new IllegalArgumentException(past + " cached + " + T + " new tokens exceed the KV cache capacity " + cache.capacity());
        }
        Tape tape = Tape.noGrad();
        Tensor x = embedTokens.forward(tape, newIds);                                         // (T, C)
        x = decoderLayers(tape, x, 1, T, rotary.tables(past, T),
                (l, q, k, v) -> CachedGroupedAttention.apply(q, k, v, cache, l, NH, NKV, config.slidingWindow(l)));
        cache.advance(T);
        if (logitsToKeep > 0 && logitsToKeep < T) {
            x = Tensor.of(Arrays.copyOfRange(x.data(), (T - logitsToKeep) * C, T * C), logitsToKeep, C);
        }
        return head(tape, model.layer("norm").forward(tape, x));                              // (kept, V)
    }

    /** Every decoder layer over x (B·T, C) at the positions of {@code rope}. */
    private Tensor decoderLayers(Tape tape, Tensor x, int B, int T, RotaryEmbedding.Tables rope, Attend attend) {
        int NH = config.numAttentionHeads(), NKV = config.numKeyValueHeads();
        for (int l = 0; l < layers.size(); l++) {
            DecoderLayer layer = layers.get(l);
            Module attn = layer.child("self_attn"), mlp = layer.child("mlp");
            Tensor h = layer.layer("input_layernorm").forward(tape, x);                       // (B·T, C)
            Tensor q = Rope.apply(tape, attn.layer("q_proj").forward(tape, h), B, T, NH, rope.cos(), rope.sin());    // (B·T, NH·HD)
            Tensor k = Rope.apply(tape, attn.layer("k_proj").forward(tape, h), B, T, NKV, rope.cos(), rope.sin());   // (B·T, NKV·HD)
            Tensor v = attn.layer("v_proj").forward(tape, h);                                 // (B·T, NKV·HD)
            Tensor a = attend.apply(l, q, k, v);                                              // (B·T, NH·HD)
            x = Add.apply(tape, x, attn.layer("o_proj").forward(tape, a));
            h = layer.layer("post_attention_layernorm").forward(tape, x);
            Tensor m = SwiGlu.apply(tape, mlp.layer("gate_proj").forward(tape, h), mlp.layer("up_proj").forward(tape, h));   // (B·T, I)
            x = Add.apply(tape, x, mlp.layer("down_proj").forward(tape, m));
        }
        return x;
    }

    /** lm_head, or the tied embedding matrix: (N, C) → (N, V). */
    private Tensor head(Tape tape, Tensor x) {
        if (config.tieWordEmbeddings()) return MatMul.linear(tape, x, embedTokens.weight(), null, false);
        return layer("lm_head").forward(tape, x);
    }
}
