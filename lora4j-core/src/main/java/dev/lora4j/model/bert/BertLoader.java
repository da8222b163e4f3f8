package dev.lora4j.model.bert;

import dev.lora4j.Lora4jException;
import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Loads BERT / RoBERTa weights as HF from_pretrained does for BertModel and *ForSequenceClassification: keys
 * with or without the {@code bert.} / {@code roberta.} prefix; the {@code embeddings.position_ids} /
 * {@code token_type_ids} buffers and other tasks' heads ({@code cls.*}, {@code lm_head.*}) ignored; RoBERTa's
 * classifier ignores a pooler (add_pooling_layer=False). Strict otherwise: every missing, unexpected and
 * mis-shaped key in one error. Only a classifier's head (and BERT's pooler) may be absent: they are then
 * newly initialised as HF's _init_weights does (weights N(0, initializer_range), biases 0), from a seed.
 */
public final class BertLoader {
    /** A loaded model and the parameters that were not in the checkpoint and were initialised afresh. */
    public record Loaded<M>(M model, List<String> newlyInitialised) {}

    private BertLoader() {}

    /** A bare encoder (HF BertModel / RobertaModel), with a pooler when the checkpoint has one; heads are ignored. */
    public static BertModel encoder(BertConfig config, StateDict.Source weights) {
        String prefix = BertForSequenceClassification.encoderName(config) + ".";
        boolean pooler = weights.names().contains("pooler.dense.weight") || weights.names().contains(prefix + "pooler.dense.weight");
        UnaryOperator<String> toModelKey = key -> encoderKey(config.modelType(), key);
        StateDict.requireLayers(weights, toModelKey, "encoder.layer.", config.numHiddenLayers(), "num_hidden_layers");
        StateDict.check(encoderShapes(config, pooler, ""), weights, toModelKey, name -> false);
        BertModel model = new BertModel(config, pooler);
        StateDict.load(model, weights, toModelKey, name -> false, name -> null);
        return model;
    }

    /**
     * A sequence classifier over {@code config.labels()}: a task checkpoint's classifier is loaded (its shape must
     * fit the number of labels); a bare encoder's is new, initialised from {@code seed}, as is a missing BERT pooler.
     * The loaded weights are held as {@code holding} says.
     */
    public static Loaded<BertForSequenceClassification> classifier(BertConfig config, StateDict.Source weights, long seed,
                                                                   WeightHolding holding) {
        String prefix = BertForSequenceClassification.encoderName(config) + ".";
        UnaryOperator<String> toModelKey = key -> {
            if (key.startsWith("classifier.")) return key;
            String name = encoderKey(config.modelType(), key);
            return name == null || (config.isRoberta() && name.startsWith("pooler.")) ? null : prefix + name;
        };
        Predicate<String> mayBeNew = name -> name.startsWith("classifier.") || name.startsWith(prefix + "pooler.");
        StateDict.requireLayers(weights, toModelKey, prefix + "encoder.layer.", config.numHiddenLayers(), "num_hidden_layers");
        StateDict.check(classifierShapes(config), weights, toModelKey, mayBeNew);
        BertForSequenceClassification model = new BertForSequenceClassification(config);
        List<String> fresh = StateDict.load(model, weights, toModelKey, mayBeNew, holding.formats(model));
        Map<String, Tensor> params = model.namedParameters();
        for (String group : List.of("classifier.", prefix + "pooler.")) {
            long isNew = fresh.stream().filter(n -> n.startsWith(group)).count();
            long all = params.keySet().stream().filter(n -> n.startsWith(group)).count();
            if (isNew > 0 && isNew < all) {
                throw new Lora4jException(weights.source() + ": the weights do not match the model\n  missing ("
                        + isNew + "): " + String.join(", ", fresh.stream().filter(n -> n.startsWith(group)).toList()));
            }
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        for (String name : fresh) {
            float[] d = params.get(name).data();
            if (params.get(name).shape().rank() == 2) {
                for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * config.initializerRange());
            }
        }
        return new Loaded<>(model, fresh);
    }

    /** The parameters of {@code new BertModel(config, pooler)}, name → shape (each name after {@code prefix}), without allocating them. */
    public static Map<String, Shape> encoderShapes(BertConfig c, boolean pooler, String prefix) {
        int H = c.hiddenSize(), I = c.intermediateSize();
        Map<String, Shape> m = new LinkedHashMap<>();
        String e = prefix + "embeddings.";
        m.put(e + "word_embeddings.weight", new Shape(c.vocabSize(), H));
        m.put(e + "position_embeddings.weight", new Shape(c.maxPositionEmbeddings(), H));
        m.put(e + "token_type_embeddings.weight", new Shape(c.typeVocabSize(), H));
        layerNorm(m, e + "LayerNorm", H);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = prefix + "encoder.layer." + i + ".";
            for (String n : List.of("query", "key", "value")) linear(m, l + "attention.self." + n, H, H);
            linear(m, l + "attention.output.dense", H, H);
            layerNorm(m, l + "attention.output.LayerNorm", H);
            linear(m, l + "intermediate.dense", H, I);
            linear(m, l + "output.dense", I, H);
            layerNorm(m, l + "output.LayerNorm", H);
        }
        if (pooler) linear(m, prefix + "pooler.dense", H, H);
        return m;
    }

    /** The parameters of {@code new BertForSequenceClassification(config)}, name → shape, without allocating them. */
    public static Map<String, Shape> classifierShapes(BertConfig c) {
        String prefix = BertForSequenceClassification.encoderName(c) + ".";
        Map<String, Shape> m = encoderShapes(c, !c.isRoberta(), prefix);
        int H = c.hiddenSize(), L = c.labels().size();
        if (c.isRoberta()) {
            linear(m, "classifier.dense", H, H);
            linear(m, "classifier.out_proj", H, L);
        } else {
            linear(m, "classifier", H, L);
        }
        return m;
    }

    private static void linear(Map<String, Shape> m, String name, int in, int out) {
        m.put(name + ".weight", new Shape(out, in));
        m.put(name + ".bias", new Shape(out));
    }

    private static void layerNorm(Map<String, Shape> m, String name, int width) {
        m.put(name + ".weight", new Shape(width));
        m.put(name + ".bias", new Shape(width));
    }

    /**
     * Checkpoint key → parameter name of the bare encoder (without bert. / roberta.), or null for buffers and task
     * heads ({@code classifier.*}, {@code cls.*}, {@code lm_head.*}); {@code modelType} is "bert" or "roberta".
     */
    public static String encoderKey(String modelType, String key) {
        String prefix = modelType + ".";
        String k = key.startsWith(prefix) ? key.substring(prefix.length()) : key;
        if (k.equals("embeddings.position_ids") || k.equals("embeddings.token_type_ids")) return null;
        if (k.startsWith("classifier.") || k.startsWith("cls.") || k.startsWith("lm_head.")) return null;
        return k;
    }
}
