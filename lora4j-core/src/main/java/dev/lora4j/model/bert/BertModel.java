package dev.lora4j.model.bert;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Add;
import dev.lora4j.autograd.Checkpoint;
import dev.lora4j.autograd.Dropout;
import dev.lora4j.autograd.Gelu;
import dev.lora4j.autograd.GeluErf;
import dev.lora4j.autograd.MaskedSelfAttention;
import dev.lora4j.autograd.TakeRows;
import dev.lora4j.autograd.Tanh;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.Model;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleList;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The BERT encoder as HF BertModel / RobertaModel compute it (modeling_bert.py, modeling_roberta.py): word +
 * position + token-type embeddings, LayerNorm and dropout; post-LayerNorm layers of bidirectional self-attention
 * over the padded batch (masked keys get probability 0, as with HF's extended attention mask) and a GELU MLP;
 * an optional tanh pooler over the first token. RoBERTa differs only in its position ids, which start at
 * pad_token_id + 1 and skip pads (create_position_ids_from_input_ids). Parameter names are the checkpoint keys
 * of a bare encoder ({@code encoder.layer.0.attention.self.query.weight}). Read leaves first.
 */
public final class BertModel extends Module implements Model {

    /** embeddings: word, position and token-type tables, then LayerNorm. */
    static final class Embeddings extends Module {
        Embeddings(BertConfig c) {
            registerChild("word_embeddings", new Embedding(c.vocabSize(), c.hiddenSize()));
            registerChild("position_embeddings", new Embedding(c.maxPositionEmbeddings(), c.hiddenSize()));
            registerChild("token_type_embeddings", new Embedding(c.typeVocabSize(), c.hiddenSize()));
            registerChild("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        }
    }

    /** attention.self: query, key, value (C → C each). */
    static final class SelfAttention extends Module {
        SelfAttention(BertConfig c) {
            for (String n : List.of("query", "key", "value")) registerChild(n, new Linear(c.hiddenSize(), c.hiddenSize(), true, false));
        }
    }

    /** attention.output / output: dense (in → C), then LayerNorm of (dropout(dense) + residual). */
    static final class DenseLayerNorm extends Module {
        DenseLayerNorm(BertConfig c, int in) {
            registerChild("dense", new Linear(in, c.hiddenSize(), true, false));
            registerChild("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        }
    }

    /** attention: self, output. */
    static final class Attention extends Module {
        Attention(BertConfig c) {
            registerChild("self", new SelfAttention(c));
            registerChild("output", new DenseLayerNorm(c, c.hiddenSize()));
        }
    }

    /** A single dense child: intermediate (C → intermediate), pooler (C → C). */
    static final class Dense extends Module {
        Dense(int in, int out) {
            registerChild("dense", new Linear(in, out, true, false));
        }
    }

    /** encoder.layer.N: attention, intermediate, output. */
    static final class BertLayer extends Module {
        BertLayer(BertConfig c) {
            registerChild("attention", new Attention(c));
            registerChild("intermediate", new Dense(c.hiddenSize(), c.intermediateSize()));
            registerChild("output", new DenseLayerNorm(c, c.intermediateSize()));
        }
    }

    /** encoder: layer (a ModuleList). */
    static final class Encoder extends Module {
        final ModuleList<BertLayer> layer;

        Encoder(BertConfig c) {
            List<BertLayer> layers = new ArrayList<>();
            for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new BertLayer(c));
            layer = registerChild("layer", new ModuleList<>(layers));
        }
    }

    private final BertConfig config;
    private final Embeddings embeddings;
    private final Encoder encoder;
    private final Dense pooler;
    private long dropoutSeed;

    /** {@code addPoolingLayer} as HF's BertModel(config, add_pooling_layer): whether a pooler exists. */
    public BertModel(BertConfig config, boolean addPoolingLayer) {
        this.config = config;
        this.embeddings = registerChild("embeddings", new Embeddings(config));
        this.encoder = registerChild("encoder", new Encoder(config));
        this.pooler = addPoolingLayer ? registerChild("pooler", new Dense(config.hiddenSize(), config.hiddenSize())) : null;
    }

    public BertConfig config() {
        return config;
    }

    public boolean hasPooler() {
        return pooler != null;
    }

    /** last_hidden_state (B·T, C) of a padded batch. */
    public Tensor forward(Tape tape, EncoderBatch batch) {
        int[] types = batch.tokenTypeIds();
        for (int i = 0; i < types.length; i++) {
            if (types[i] < 0 || types[i] >= config.typeVocabSize()) {
                throw new Lora4jException("token_type_id " + types[i] + " at position " + i + " is outside [0, " + config.typeVocabSize() + ") (type_vocab_size)");
            }
        }
        Tensor x = Add.apply(tape, ((Embedding) embeddings.child("word_embeddings")).forward(tape, batch.inputIds()),
                ((Embedding) embeddings.child("token_type_embeddings")).forward(tape, types));
        x = Add.apply(tape, x, ((Embedding) embeddings.child("position_embeddings")).forward(tape, positionIds(batch)));  // (B·T, C)
        x = dropout(tape, embeddings.layer("LayerNorm").forward(tape, x), config.hiddenDropoutProb());
        for (int l = 0; l < encoder.layer.size(); l++) {
            BertLayer layer = encoder.layer.get(l);
            Checkpoint.Block f = (t, in) -> layer(t, layer, in, batch);
            x = isGradientCheckpointing() ? Checkpoint.apply(tape, x, layer.namedParameters().values(), this::dropoutSeeds, this::restoreDropoutSeeds, f)
                    : f.forward(tape, x);
        }
        return x;
    }

    /** One encoder.layer.N over x (B·T, C). */
    private Tensor layer(Tape tape, BertLayer layer, Tensor x, EncoderBatch batch) {
        float pAttn = isTraining() ? config.attentionProbsDropoutProb() : 0f;
        Module self = layer.child("attention").child("self"), attnOut = layer.child("attention").child("output");
        Tensor q = self.layer("query").forward(tape, x), k = self.layer("key").forward(tape, x), v = self.layer("value").forward(tape, x);
        Tensor a = MaskedSelfAttention.apply(tape, q, k, v, batch.attentionMask(), batch.B(), batch.T(), config.numAttentionHeads(), pAttn, nextSeed());
        a = dropout(tape, attnOut.layer("dense").forward(tape, a), config.hiddenDropoutProb());
        x = attnOut.layer("LayerNorm").forward(tape, Add.apply(tape, a, x));                             // (B·T, C)
        Tensor h = layer.child("intermediate").layer("dense").forward(tape, x);                         // (B·T, intermediate)
        h = config.hiddenAct() == BertConfig.Activation.GELU ? GeluErf.apply(tape, h) : Gelu.apply(tape, h);
        Module out = layer.child("output");
        h = dropout(tape, out.layer("dense").forward(tape, h), config.hiddenDropoutProb());
        return out.layer("LayerNorm").forward(tape, Add.apply(tape, h, x));                             // (B·T, C)
    }

    /** pooler_output (B, C): tanh(dense(first token)) of the last hidden state (B·T, C). */
    public Tensor pool(Tape tape, Tensor hidden, EncoderBatch batch) {
        if (pooler == null) throw new IllegalStateException("this encoder has no pooler");
        return Tanh.apply(tape, pooler.layer("dense").forward(tape, TakeRows.apply(tape, hidden, batch.firstTokenRows())));
    }

    /** position_ids (B·T): 0..T−1 for BERT; for RoBERTa pad_token_id + (index among the row's non-pad tokens), pad_token_id on pads. */
    int[] positionIds(EncoderBatch batch) {
        int B = batch.B(), T = batch.T(), pad = config.padTokenId();
        int[] ids = batch.inputIds(), pos = new int[B * T];
        for (int b = 0; b < B; b++) {
            int count = 0;
            for (int t = 0; t < T; t++) {
                int i = b * T + t;
                pos[i] = !config.isRoberta() ? t : ids[i] != pad ? pad + ++count : pad;
                if (pos[i] >= config.maxPositionEmbeddings()) {
                    throw new Lora4jException("sequence length " + T + " exceeds the model's maximum of " + config.maxSequenceLength()
                            + " tokens (max_position_embeddings " + config.maxPositionEmbeddings() + ")");
                }
            }
        }
        return pos;
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
    public String outputHead() {
        return null;
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
        m.put("intermediate_size", config.intermediateSize());
        m.put("vocab_size", config.vocabSize());
        m.put("max_position_embeddings", config.maxPositionEmbeddings());
        return m;
    }

    @Override
    protected void setDropoutSeed(long seed) {
        this.dropoutSeed = seed;
    }

    @Override
    protected long dropoutSeed() {
        return dropoutSeed;
    }

    private Tensor dropout(Tape tape, Tensor x, float p) {
        return isTraining() ? Dropout.apply(tape, x, p, nextSeed()) : x;
    }

    private long nextSeed() {
        return dropoutSeed++;
    }
}
