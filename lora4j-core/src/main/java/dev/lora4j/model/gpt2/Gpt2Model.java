package dev.lora4j.model.gpt2;

import dev.lora4j.autograd.Add;
import dev.lora4j.autograd.CausalSelfAttention;
import dev.lora4j.autograd.Checkpoint;
import dev.lora4j.autograd.Dropout;
import dev.lora4j.autograd.Gelu;
import dev.lora4j.autograd.LmHeadLoss;
import dev.lora4j.autograd.MatMul;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.CachedAttention;
import dev.lora4j.nn.KvCache;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
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
 * GPT-2 as HF GPT2LMHeadModel computes it (modeling_gpt2.py): token + position embeddings, pre-LayerNorm
 * blocks of causal self-attention and a tanh-GELU MLP over Conv1D layers, a final LayerNorm, and an output
 * head tied to {@code wte}. Parameter names are the checkpoint keys ({@code h.0.attn.c_attn.weight}).
 * Read leaves first: Attention, Mlp, Block, then the model. {@link #forwardCached} is the same network
 * for generation, with HF's {@code past_key_values} ({@link KvCache}) in place of recomputing the prefix.
 */
public final class Gpt2Model extends Module implements CausalLm {

    /** attn: c_attn (C → 3C), causal attention, c_proj (C → C). */
    static final class Attention extends Module {
        Attention(Gpt2Config c) {
            registerChild("c_attn", new Linear(c.nEmbd(), 3 * c.nEmbd(), true, true));
            registerChild("c_proj", new Linear(c.nEmbd(), c.nEmbd(), true, true));
        }
    }

    /** mlp: c_fc (C → inner), GELU, c_proj (inner → C). */
    static final class Mlp extends Module {
        Mlp(Gpt2Config c) {
            registerChild("c_fc", new Linear(c.nEmbd(), c.nInner(), true, true));
            registerChild("c_proj", new Linear(c.nInner(), c.nEmbd(), true, true));
        }
    }

    /** h.N: x + attn(ln_1(x)), then + mlp(ln_2(·)). */
    static final class Block extends Module {
        Block(Gpt2Config c) {
            registerChild("ln_1", new LayerNorm(c.nEmbd(), c.layerNormEpsilon()));
            registerChild("attn", new Attention(c));
            registerChild("ln_2", new LayerNorm(c.nEmbd(), c.layerNormEpsilon()));
            registerChild("mlp", new Mlp(c));
        }
    }

    private final Gpt2Config config;
    private final Embedding wte;
    private final Embedding wpe;
    private final ModuleList<Block> h;
    private final LayerNorm lnF;
    private long dropoutSeed;
    private OptionalInt eosTokenId = OptionalInt.empty();

    public Gpt2Model(Gpt2Config config) {
        this.config = config;
        this.wte = registerChild("wte", new Embedding(config.vocabSize(), config.nEmbd()));
        this.wpe = registerChild("wpe", new Embedding(config.nPositions(), config.nEmbd()));
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < config.nLayer(); i++) blocks.add(new Block(config));
        this.h = registerChild("h", new ModuleList<>(blocks));
        this.lnF = registerChild("ln_f", new LayerNorm(config.nEmbd(), config.layerNormEpsilon()));
    }

    public Gpt2Config config() {
        return config;
    }

    @Override
    public String modelType() {
        return "gpt2";
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
        return eosTokenId;
    }

    /** Sets the end-of-text token id (config.json's {@code eos_token_id}); the loader calls it. */
    public void setEosTokenId(OptionalInt id) {
        this.eosTokenId = id;
    }

    @Override
    public int maxPositions() {
        return config.nPositions();
    }

    @Override
    public String outputHead() {
        return null;   // tied to wte: not a module
    }

    @Override
    public String peftPrefix() {
        return "transformer.";
    }

    @Override
    public Map<String, Object> sizes() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n_layer", config.nLayer());
        m.put("n_embd", config.nEmbd());
        m.put("n_head", config.nHead());
        m.put("n_inner", config.nInner());
        m.put("vocab_size", config.vocabSize());
        m.put("n_positions", config.nPositions());
        return m;
    }

    /** Seeds the dropout masks of the next forward passes (each pass advances it). */
    public void setDropoutSeed(long seed) {
        this.dropoutSeed = seed;
    }

    @Override
    protected long dropoutSeed() {
        return dropoutSeed;
    }

    /** Logits (B·T, V) for token ids (B·T, row-major by batch). */
    @Override
    public Tensor forward(Tape tape, int[] ids, int B, int T) {
        return MatMul.linear(tape, hidden(tape, ids, B, T), wte.weight(), null, false);         // (B·T, V), tied head
    }

    /** The tied head fused with the cross-entropy: the (B·T, V) logits are never materialised. */
    @Override
    public Tensor loss(Tape tape, int[] ids, int B, int T, int[] targets) {
        return LmHeadLoss.apply(tape, hidden(tape, ids, B, T), wte.weight(), targets);
    }

    /** The final hidden states (B·T, C), after ln_f. */
    private Tensor hidden(Tape tape, int[] ids, int B, int T) {
        if (ids.length != B * T) throw new IllegalArgumentException(ids.length + " ids for a batch of " + B + " × " + T);
        if (T > config.nPositions()) {
            throw new IllegalArgumentException("sequence length " + T + " exceeds n_positions " + config.nPositions());
        }
        int[] pos = new int[B * T];
        for (int i = 0; i < pos.length; i++) pos[i] = i % T;
        Tensor x = Add.apply(tape, wte.forward(tape, ids), wpe.forward(tape, pos));            // (B·T, C)
        x = dropout(tape, x, config.embdPdrop());
        for (int l = 0; l < h.size(); l++) {
            Block block = h.get(l);
            Checkpoint.Block f = (t, in) -> block(t, block, in, B, T);
            x = isGradientCheckpointing() ? Checkpoint.apply(tape, x, block.namedParameters().values(), this::dropoutSeeds, this::restoreDropoutSeeds, f)
                    : f.forward(tape, x);
        }
        return lnF.forward(tape, x);
    }

    /** One block h.N over x (B·T, C). */
    private Tensor block(Tape tape, Block block, Tensor x, int B, int T) {
        Module attn = block.child("attn"), mlp = block.child("mlp");
        Tensor a = block.layer("ln_1").forward(tape, x);
        Tensor qkv = attn.layer("c_attn").forward(tape, a);                                     // (B·T, 3C)
        float pAttn = isTraining() ? config.attnPdrop() : 0f;
        a = CausalSelfAttention.apply(tape, qkv, B, T, config.nHead(), pAttn, nextSeed());        // (B·T, C)
        a = attn.layer("c_proj").forward(tape, a);
        x = Add.apply(tape, x, dropout(tape, a, config.residPdrop()));
        Tensor m = block.layer("ln_2").forward(tape, x);
        m = Gelu.apply(tape, mlp.layer("c_fc").forward(tape, m));                              // (B·T, inner)
        m = mlp.layer("c_proj").forward(tape, m);
        return Add.apply(tape, x, dropout(tape, m, config.residPdrop()));
    }

    @Override
    public KvCache newKvCache(int capacity) {
        if (capacity < 1 || capacity > config.nPositions()) {
            throw new IllegalArgumentException("KV cache capacity " + capacity + " is outside [1, " + config.nPositions() + "] (n_positions)");
        }
        return new KvCache(config.nLayer(), capacity, config.nEmbd());
    }

    /** {@link #forward} for batch 1 continuing {@code cache}: no tape, no dropout; every linear still goes through {@code layer(...)}. */
    @Override
    public Tensor forwardCached(int[] newIds, KvCache cache, int logitsToKeep) {
        if (newIds.length < 1) throw new IllegalArgumentException("forwardCached needs at least one new token");
        return decode(SequenceBatch.of(newIds, cache, logitsToKeep));
    }

    @Override
    public Tensor forwardBatch(SequenceBatch batch) {
        return decode(batch);
    }

    /** The cached forward of every sequence of the batch: per-row work over all rows, attention per sequence. */
    private Tensor decode(SequenceBatch batch) {
        batch.check(config.nLayer(), config.nEmbd(), config.nPositions(), "n_positions");
        Tape tape = Tape.noGrad();
        Tensor x = Add.apply(tape, wte.forward(tape, batch.ids()), wpe.forward(tape, batch.positions()));   // (N, C)
        for (int l = 0; l < h.size(); l++) {
            Block block = h.get(l);
            Module attn = block.child("attn"), mlp = block.child("mlp");
            int layer = l;
            Tensor a = block.layer("ln_1").forward(tape, x);
            Tensor qkv = batch.linear(tape, attn.layer("c_attn"), a);                               // (N, 3C)
            a = batch.perSequence(qkv, (s, rows) -> CachedAttention.apply(rows, batch.cache(s), layer, config.nHead()));   // (N, C)
            x = Add.apply(tape, x, batch.linear(tape, attn.layer("c_proj"), a));
            Tensor m = block.layer("ln_2").forward(tape, x);
            m = Gelu.apply(tape, batch.linear(tape, mlp.layer("c_fc"), m));                         // (N, inner)
            x = Add.apply(tape, x, batch.linear(tape, mlp.layer("c_proj"), m));
        }
        batch.advance();
        x = lnF.forward(tape, batch.keptRows(x));
        return batch.matmul(tape, x, wte.weight(), false);                                          // (kept, V), tied head
    }

    private Tensor dropout(Tape tape, Tensor x, float p) {
        return isTraining() ? Dropout.apply(tape, x, p, nextSeed()) : x;
    }

    private long nextSeed() {
        return dropoutSeed++;
    }
}
