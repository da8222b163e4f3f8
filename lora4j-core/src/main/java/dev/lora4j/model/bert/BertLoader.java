package dev.lora4j.model.bert;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.WeightStore;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
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
    /** Where the tensors come from: a model directory's safetensors, or tensors in memory (an ONNX import). */
    public interface Weights {
        List<String> names();

        Shape shape(String name);

        void readInto(String name, float[] dst);

        /** Names the source in errors. */
        String source();

        static Weights of(WeightStore store) {
            return new Weights() {
                public List<String> names() { return store.names(); }
                public Shape shape(String name) { return store.shape(name); }
                public void readInto(String name, float[] dst) { store.readInto(name, dst); }
                public String source() { return store.dir().toString(); }
            };
        }

        static Weights of(Map<String, Tensor> tensors, String source) {
            return new Weights() {
                public List<String> names() { return List.copyOf(tensors.keySet()); }
                public Shape shape(String name) { return tensors.get(name).shape(); }
                public void readInto(String name, float[] dst) { System.arraycopy(tensors.get(name).data(), 0, dst, 0, dst.length); }
                public String source() { return source; }
            };
        }
    }

    /** A loaded model and the parameters that were not in the checkpoint and were initialised afresh. */
    public record Loaded<M>(M model, List<String> newlyInitialised) {}

    private BertLoader() {}

    /** A bare encoder (HF BertModel / RobertaModel), with a pooler when the checkpoint has one; heads are ignored. */
    public static BertModel encoder(BertConfig config, Weights weights) {
        String prefix = BertForSequenceClassification.encoderName(config) + ".";
        boolean pooler = weights.names().contains("pooler.dense.weight") || weights.names().contains(prefix + "pooler.dense.weight");
        BertModel model = new BertModel(config, pooler);
        load(model, weights, key -> encoderKey(config.modelType(), key), name -> false);
        return model;
    }

    /**
     * A sequence classifier over {@code config.labels()}: a task checkpoint's classifier is loaded (its shape must
     * fit the number of labels); a bare encoder's is new, initialised from {@code seed}, as is a missing BERT pooler.
     */
    public static Loaded<BertForSequenceClassification> classifier(BertConfig config, Weights weights, long seed) {
        BertForSequenceClassification model = new BertForSequenceClassification(config);
        String prefix = BertForSequenceClassification.encoderName(config) + ".";
        List<String> fresh = load(model, weights, key -> {
            if (key.startsWith("classifier.")) return key;
            String name = encoderKey(config.modelType(), key);
            return name == null || (config.isRoberta() && name.startsWith("pooler.")) ? null : prefix + name;
        }, name -> name.startsWith("classifier.") || name.startsWith(prefix + "pooler."));
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

    /** Strict copy; returns the parameters allowed to be missing ({@code mayBeNew}) that were. */
    private static List<String> load(Module model, Weights weights, UnaryOperator<String> toName, Predicate<String> mayBeNew) {
        Map<String, Tensor> params = model.namedParameters();
        Map<String, String> found = new LinkedHashMap<>();   // parameter name -> checkpoint key
        List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>(), duplicate = new ArrayList<>();
        for (String key : weights.names()) {
            String name = toName.apply(key);
            if (name == null) continue;
            Tensor p = params.get(name);
            if (p == null) {
                unexpected.add(key);
            } else if (found.putIfAbsent(name, key) != null) {
                duplicate.add(key + " (and " + found.get(name) + ")");
            } else if (!weights.shape(key).equals(p.shape())) {
                misShaped.add(key + ": checkpoint " + weights.shape(key) + ", model expects " + p.shape()
                        + (name.startsWith("classifier.") ? " (the checkpoint's classifier has another number of labels)" : ""));
            }
        }
        List<String> missing = new ArrayList<>(), fresh = new ArrayList<>();
        for (String name : params.keySet()) {
            if (!found.containsKey(name)) (mayBeNew.test(name) ? fresh : missing).add(name);
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty() || !duplicate.isEmpty()) {
            StringBuilder sb = new StringBuilder(weights.source() + ": the weights do not match the model");
            section(sb, "missing", missing);
            section(sb, "unexpected", unexpected);
            section(sb, "wrong shape", misShaped);
            section(sb, "given twice", duplicate);
            throw new Lora4jException(sb.toString());
        }
        found.forEach((name, key) -> weights.readInto(key, params.get(name).data()));
        return fresh;
    }

    private static void section(StringBuilder sb, String title, List<String> keys) {
        if (keys.isEmpty()) return;
        sb.append("\n  ").append(title).append(" (").append(keys.size()).append("): ");
        int shown = Math.min(keys.size(), 20);
        sb.append(String.join(", ", keys.subList(0, shown)));
        if (shown < keys.size()) sb.append(", ... ").append(keys.size() - shown).append(" more");
    }
}
