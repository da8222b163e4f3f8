package dev.lora4j.model.bert;

import dev.lora4j.autograd.Dropout;
import dev.lora4j.autograd.TakeRows;
import dev.lora4j.autograd.Tanh;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.LabelMap;
import dev.lora4j.nn.Model;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.Map;

/**
 * A sequence classifier as HF BertForSequenceClassification / RobertaForSequenceClassification compute it:
 * BERT: pooler → dropout → {@code classifier} (Linear); RoBERTa (no pooler): RobertaClassificationHead on the
 * &lt;s&gt; token: dropout → {@code classifier.dense} → tanh → dropout → {@code classifier.out_proj}. The module tree is
 * HF's, {@code bert.} / {@code roberta.} above the encoder, so parameter names are task-checkpoint keys and PEFT
 * adapter keys ({@code base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight},
 * {@code base_model.model.classifier.weight}) follow with an empty PEFT prefix.
 */
public final class BertForSequenceClassification extends Module implements Model {

    /** RobertaClassificationHead: dense (C → C), out_proj (C → num_labels). */
    static final class RobertaClassificationHead extends Module {
        RobertaClassificationHead(BertConfig c, int numLabels) {
            registerChild("dense", new Linear(c.hiddenSize(), c.hiddenSize(), true, false));
            registerChild("out_proj", new Linear(c.hiddenSize(), numLabels, true, false));
        }
    }

    private final BertConfig config;
    private final BertModel encoder;
    private long dropoutSeed;

    /** A classifier over {@code config.labels()} (required); BERT's encoder gets a pooler, RoBERTa's none (as HF). */
    public BertForSequenceClassification(BertConfig config) {
        if (config.labels() == null) throw new IllegalArgumentException("a sequence classifier needs labels (id2label)");
        this.config = config;
        this.encoder = registerChild(encoderName(config), new BertModel(config, !config.isRoberta()));
        int L = config.labels().size();
        registerChild("classifier", config.isRoberta() ? new RobertaClassificationHead(config, L)
                : new Linear(config.hiddenSize(), L, true, false));
    }

    /** "bert" or "roberta": HF's base_model_prefix, the encoder's name in the module tree and in task checkpoints. */
    public static String encoderName(BertConfig config) {
        return config.isRoberta() ? "roberta" : "bert";
    }

    public BertConfig config() {
        return config;
    }

    public BertModel encoder() {
        return encoder;
    }

    public LabelMap labels() {
        return config.labels();
    }

    /** Logits (B, num_labels) of a padded batch. */
    public Tensor forward(Tape tape, EncoderBatch batch) {
        Tensor hidden = encoder.forward(tape, batch);                                          // (B·T, C)
        float p = config.classifierDropoutOrHidden();
        if (config.isRoberta()) {
            Tensor x = dropout(tape, TakeRows.apply(tape, hidden, batch.firstTokenRows()), p);  // (B, C), <s>
            Module head = child("classifier");
            x = Tanh.apply(tape, head.layer("dense").forward(tape, x));
            return head.layer("out_proj").forward(tape, dropout(tape, x, p));
        }
        Tensor pooled = dropout(tape, encoder.pool(tape, hidden, batch), p);                   // (B, C)
        return layer("classifier").forward(tape, pooled);
    }

    /** Softmax probabilities (B, num_labels) in evaluation mode, without gradients. */
    public float[][] probabilities(EncoderBatch batch) {
        train(false);
        Tensor logits = forward(Tape.noGrad(), batch);
        int L = logits.dim(1);
        float[][] out = new float[batch.B()][L];
        for (int b = 0; b < batch.B(); b++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < L; j++) max = Math.max(max, logits.data()[b * L + j]);
            for (int j = 0; j < L; j++) sum += Math.exp(logits.data()[b * L + j] - max);
            for (int j = 0; j < L; j++) out[b][j] = (float) (Math.exp(logits.data()[b * L + j] - max) / sum);
        }
        return out;
    }

    @Override
    public String modelType() {
        return config.modelType();
    }

    @Override
    public Module module() {
        return this;
    }

    /** The classification head, which PEFT's "all-linear" leaves out for SEQ_CLS. */
    @Override
    public String outputHead() {
        return "classifier";
    }

    @Override
    public String peftPrefix() {
        return "";
    }

    @Override
    public Map<String, Object> sizes() {
        Map<String, Object> m = encoder.sizes();
        m.put("num_labels", config.labels().size());
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
        return isTraining() ? Dropout.apply(tape, x, p, dropoutSeed++) : x;
    }
}
