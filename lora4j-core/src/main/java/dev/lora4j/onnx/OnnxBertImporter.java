// Maps a BERT-family ONNX export (torch.onnx of HF BertModel / RobertaModel, e.g. all-MiniLM-L6-v2)
// to Hugging Face checkpoint keys and shapes, and recovers its config. Named initializers keep their
// HF names (after any wrapper prefix); anonymous ones ("onnx::MatMul_787") are named by the node that
// reads them ("/encoder/layer.0/attention/self/query/MatMul" -> "encoder.layer.0.attention.self.query.weight").
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict: every float initializer (but scalar constants) must be a BERT weight, every BERT weight
 * must be found once with its HF shape, and every config value must be stated by the graph; one
 * error lists everything missing, unexpected or mis-shaped.
 */
public final class OnnxBertImporter {
    private static final Pattern HF_KEY = Pattern.compile("(?:.*?\\.)?((?:embeddings|encoder|pooler)\\..+\\.(?:weight|bias))");
    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\..+");
    private static final String WORD = "embeddings.word_embeddings.weight", POSITION = "embeddings.position_embeddings.weight",
            TOKEN_TYPE = "embeddings.token_type_embeddings.weight", INTERMEDIATE = "encoder.layer.0.intermediate.dense.weight";

    private OnnxBertImporter() {}

    /** How an initializer is used: its HF key and whether it is stored [in, out]. */
    private record Use(String key, boolean transposed) {}

    /** The HF view of {@code model}; a {@link Lora4jException} naming everything that does not fit. */
    public static OnnxBert read(OnnxModel model) {
        OnnxGraph graph = model.graph();
        Map<String, OnnxWeight> found = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (OnnxTensor t : graph.initializers()) {
            if (!t.dataType().isFloat() || t.numel() <= 1) continue; // buffers (position ids), scalar constants
            Use use = use(graph, t);
            String where = "initializer '" + t.name() + "' " + Arrays.toString(t.dims());
            if (use == null) {
                problems.add(where + " is not a BERT weight (read by " + graph.consumers(t.name()) + ")");
            } else if (use.transposed() && t.rank() != 2) {
                problems.add(where + " is the right operand of a MatMul but not a matrix");
            } else {
                Shape stored = t.shape();
                Shape hf = use.transposed() ? new Shape(stored.dim(1), stored.dim(0)) : stored;
                OnnxWeight previous = found.put(use.key(), new OnnxWeight(use.key(), t.name(), use.transposed(), hf));
                if (previous != null) problems.add("both '" + previous.initializer() + "' and '" + t.name() + "' hold " + use.key());
            }
        }
        List<String> sizes = List.of(WORD, POSITION, TOKEN_TYPE, INTERMEDIATE).stream()
                .filter(k -> !found.containsKey(k) || found.get(k).shape().rank() != 2).map(k -> "no matrix " + k).toList();
        if (!sizes.isEmpty()) {
            problems.addAll(sizes);
            throw notBert(model, problems);
        }
        int vocab = found.get(WORD).shape().dim(0), hidden = found.get(WORD).shape().dim(1);
        int positions = found.get(POSITION).shape().dim(0), types = found.get(TOKEN_TYPE).shape().dim(0);
        int intermediate = found.get(INTERMEDIATE).shape().dim(0);
        int layers = found.keySet().stream().map(LAYER::matcher).filter(Matcher::matches)
                .mapToInt(m -> Integer.parseInt(m.group(1)) + 1).max().orElse(0);

        Map<String, Shape> expected = expectedShapes(layers, vocab, positions, types, hidden, intermediate);
        if (found.containsKey("pooler.dense.weight") || found.containsKey("pooler.dense.bias")) {
            expected.put("pooler.dense.weight", new Shape(hidden, hidden));
            expected.put("pooler.dense.bias", new Shape(hidden));
        }
        Map<String, OnnxWeight> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            OnnxWeight w = found.get(e.getKey());
            if (w == null) problems.add("missing " + e.getKey() + " " + e.getValue());
            else if (!w.shape().equals(e.getValue())) problems.add(e.getKey() + " (initializer '" + w.initializer()
                    + "') has shape " + w.shape() + ", expected " + e.getValue());
            else weights.put(e.getKey(), w);
        }
        for (OnnxWeight w : found.values()) {
            if (!expected.containsKey(w.key())) problems.add("unexpected " + w.key() + " (initializer '" + w.initializer() + "')");
        }
        if (!problems.isEmpty()) throw notBert(model, problems);

        BertGraphFacts facts = new BertGraphFacts(graph, model.source());
        boolean roberta = facts.robertaPositions();
        OnnxBertConfig config = new OnnxBertConfig(roberta ? "roberta" : "bert", vocab, hidden, layers,
                facts.numAttentionHeads(hidden), intermediate, facts.hiddenAct(), positions, types, facts.layerNormEps(),
                roberta ? facts.robertaPadTokenId() : 0);
        return new OnnxBert(model, config, weights);
    }

    /**
     * The HF key from the initializer's own name if it is one, else from its reader's module path and
     * role; transposed when a MatMul (or a Gemm without transB) reads it as the right operand.
     */
    private static Use use(OnnxGraph graph, OnnxTensor t) {
        Matcher named = HF_KEY.matcher(t.name());
        String key = named.matches() ? named.group(1) : null;
        for (OnnxNode n : graph.consumers(t.name())) {
            int at = n.inputs().indexOf(t.name());
            String suffix = switch (n.opType()) {
                case "MatMul" -> at == 1 ? ".weight" : null;
                case "Gemm" -> at == 1 ? ".weight" : at == 2 ? ".bias" : null;
                case "Gather" -> at == 0 ? ".weight" : null;
                case "Mul" -> ".weight";
                case "Add" -> ".bias";
                case "LayerNormalization" -> at == 1 ? ".weight" : at == 2 ? ".bias" : null;
                default -> null;
            };
            String module = BertGraphFacts.modulePath(n.name());
            if (suffix == null || (key == null && module == null)) continue;
            boolean transposed = n.opType().equals("MatMul")
                    || (n.opType().equals("Gemm") && at == 1 && n.attribute("transB").map(OnnxAttribute::i).orElse(0L) == 0);
            return new Use(key != null ? key : module + suffix, transposed);
        }
        return key == null ? null : new Use(key, false);
    }

    /** Every weight of HF BertModel without its pooler, in checkpoint order, with its [out, in] shape. */
    private static Map<String, Shape> expectedShapes(int layers, int vocab, int positions, int types, int hidden,
                                                     int intermediate) {
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put(WORD, new Shape(vocab, hidden));
        s.put(POSITION, new Shape(positions, hidden));
        s.put(TOKEN_TYPE, new Shape(types, hidden));
        s.put("embeddings.LayerNorm.weight", new Shape(hidden));
        s.put("embeddings.LayerNorm.bias", new Shape(hidden));
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")) {
                s.put(p + m + ".weight", new Shape(hidden, hidden));
                s.put(p + m + ".bias", new Shape(hidden));
            }
            s.put(p + "attention.output.LayerNorm.weight", new Shape(hidden));
            s.put(p + "attention.output.LayerNorm.bias", new Shape(hidden));
            s.put(p + "intermediate.dense.weight", new Shape(intermediate, hidden));
            s.put(p + "intermediate.dense.bias", new Shape(intermediate));
            s.put(p + "output.dense.weight", new Shape(hidden, intermediate));
            s.put(p + "output.dense.bias", new Shape(hidden));
            s.put(p + "output.LayerNorm.weight", new Shape(hidden));
            s.put(p + "output.LayerNorm.bias", new Shape(hidden));
        }
        return s;
    }

    private static Lora4jException notBert(OnnxModel model, List<String> problems) {
        return new Lora4jException(model.source() + ": not a BERT encoder lora4j can import: " + String.join("; ", problems));
    }
}
