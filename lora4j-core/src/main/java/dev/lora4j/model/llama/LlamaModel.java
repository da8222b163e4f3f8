package dev.lora4j.model.llama;

import dev.lora4j.autograd.Add;
import dev.lora4j.autograd.Checkpoint;
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
import dev.lora4j.nn.Layer;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleList;
import dev.lora4j.nn.SequenceBatch;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
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

    /**
     * What one pass does at the parts of a layer that differ between training over (B, T) windows and decoding over
     * cached sequences: the linear layers (per sequence adapters), RoPE (the rows' positions) and attention.
     */
    private interface Pass {
        Tensor linear(Tape tape, Layer layer, Tensor x);

        Tensor rope(Tape tape, Tensor x, int heads);

        Tensor attend(Tape tape, int layer, Tensor q, Tensor k, Tensor v);
    }

    private final LlamaConfig config;
    private final Decoder model;
    private final Embedding embedTokens;
    private final ModuleList<DecoderLayer> layers;
    private final RotaryEmbedding rotary;
    private final RopeFactors ropeFactors;

    public LlamaModel(LlamaConfig config) {
        this(config, null);
    }

    /** With llama.cpp's per-dimension RoPE factors (a GGUF's rope_freqs.weight; null: none). */
    @SuppressWarnings("unchecked")
    public LlamaModel(LlamaConfig config, RopeFactors ropeFactors) {
        this.config = config;
        this.ropeFactors = ropeFactors;
        this.model = registerChild("model", new Decoder(config));
        if (!config.tieWordEmbeddings()) registerChild("lm_head", new Linear(config.hiddenSize(), config.vocabSize(), false, false));
        this.embedTokens = (Embedding) model.child("embed_tokens");
        this.layers = (ModuleList<DecoderLayer>) model.child("layers");
        this.rotary = new RotaryEmbedding(config.headDim(), config.ropeTheta(), config.ropeScaling(), ropeFactors);
    }

    public LlamaConfig config() {
        return config;
    }

    /** The RoPE factors read from a GGUF file, or null. */
    public RopeFactors ropeFactors() {
        return ropeFactors;
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
        RotaryEmbedding.Tables rope = rotary.tables(0, T);
        x = decoderLayers(tape, x, isGradientCheckpointing(), new Pass() {
            @Override
            public Tensor linear(Tape t, Layer layer, Tensor in) {
                return layer.forward(t, in);
            }

            @Override
            public Tensor rope(Tape t, Tensor in, int heads) {
                return Rope.apply(t, in, B, T, heads, rope.cos(), rope.sin());
            }

            @Override
            public Tensor attend(Tape t, int l, Tensor q, Tensor k, Tensor v) {
                return GroupedQueryAttention.apply(t, q, k, v, B, T, NH, NKV, config.slidingWindow(l));
            }
        });
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
        if (newIds.length < 1) throw new IllegalArgumentException("forwardCached needs at least one new token");
        return decode(SequenceBatch.of(newIds, cache, logitsToKeep));
    }

    @Override
    public Tensor forwardBatch(SequenceBatch batch) {
        return decode(batch);
    }

    /** The cached forward of every sequence of the batch: per-row work over all rows; RoPE and attention per sequence. */
    private Tensor decode(SequenceBatch batch) {
        int NH = config.numAttentionHeads(), NKV = config.numKeyValueHeads();
        batch.check(config.numHiddenLayers(), NKV * config.headDim(), config.maxPositionEmbeddings(), "max_position_embeddings");
        Tape tape = Tape.noGrad();
        RotaryEmbedding.Tables[] rope = new RotaryEmbedding.Tables[batch.size()];
        for (int s = 0; s < rope.length; s++) rope[s] = rotary.tables(batch.cache(s).length(), batch.length(s));
        Tensor x = embedTokens.forward(tape, batch.ids());                                    // (N, C)
        x = decoderLayers(tape, x, false, new Pass() {
            @Override
            public Tensor linear(Tape t, Layer layer, Tensor in) {
                return batch.linear(t, layer, in);
            }

            @Override
            public Tensor rope(Tape t, Tensor in, int heads) {
                return batch.perSequence(in, (s, rows) -> Rope.apply(t, rows, 1, batch.length(s), heads, rope[s].cos(), rope[s].sin()));
            }

            @Override
            public Tensor attend(Tape t, int l, Tensor q, Tensor k, Tensor v) {
                return batch.perSequence(q, k, v, (s, qs, ks, vs) ->
                        CachedGroupedAttention.apply(qs, ks, vs, batch.cache(s), l, NH, NKV, config.slidingWindow(l)));
            }
        });
        batch.advance();
        x = model.layer("norm").forward(tape, batch.keptRows(x));
        if (config.tieWordEmbeddings()) return batch.matmul(tape, x, embedTokens.weight(), false);   // (kept, V)
        return batch.linear(tape, layer("lm_head"), x);
    }

    /**
     * Every decoder layer over x (B·T, C), its linears, RoPE and attention as {@code pass} does them; with
     * {@code recompute}, each layer keeps only its input and runs again for its backward ({@link Checkpoint}).
     */
    private Tensor decoderLayers(Tape tape, Tensor x, boolean recompute, Pass pass) {
        for (int l = 0; l < layers.size(); l++) {
            int index = l;
            Checkpoint.Block layer = (t, in) -> decoderLayer(t, index, in, pass);
            x = recompute ? Checkpoint.apply(tape, x, layers.get(l).namedParameters().values(), this::dropoutSeeds, this::restoreDropoutSeeds, layer)
                    : layer.forward(tape, x);
        }
        return x;
    }

    /** model.layers.l over x (B·T, C). */
    private Tensor decoderLayer(Tape tape, int l, Tensor x, Pass pass) {
        int NH = config.numAttentionHeads(), NKV = config.numKeyValueHeads();
        DecoderLayer layer = layers.get(l);
        Module attn = layer.child("self_attn"), mlp = layer.child("mlp");
        Tensor h = layer.layer("input_layernorm").forward(tape, x);                           // (B·T, C)
        Tensor q = pass.rope(tape, pass.linear(tape, attn.layer("q_proj"), h), NH);           // (B·T, NH·HD)
        Tensor k = pass.rope(tape, pass.linear(tape, attn.layer("k_proj"), h), NKV);          // (B·T, NKV·HD)
        Tensor v = pass.linear(tape, attn.layer("v_proj"), h);                                // (B·T, NKV·HD)
        Tensor a = pass.attend(tape, l, q, k, v);                                             // (B·T, NH·HD)
        x = Add.apply(tape, x, pass.linear(tape, attn.layer("o_proj"), a));
        h = layer.layer("post_attention_layernorm").forward(tape, x);
        Tensor m = SwiGlu.apply(tape, pass.linear(tape, mlp.layer("gate_proj"), h), pass.linear(tape, mlp.layer("up_proj"), h));   // (B·T, I)
        return Add.apply(tape, x, pass.linear(tape, mlp.layer("down_proj"), m));
    }

    /** lm_head, or the tied embedding matrix: (N, C) → (N, V). */
    private Tensor head(Tape tape, Tensor x) {
        if (config.tieWordEmbeddings()) return MatMul.linear(tape, x, embedTokens.weight(), null, false);
        return layer("lm_head").forward(tape, x);
    }
}
