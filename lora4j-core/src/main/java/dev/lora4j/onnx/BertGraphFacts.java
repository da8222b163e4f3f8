// Recovers the BERT hyper-parameters that are not weight shapes from the operators of an ONNX export:
// head count, LayerNorm epsilon, activation, and RoBERTa's position ids. Follows what torch.onnx
// emits for HF modeling_bert.py / modeling_roberta.py: nodes named "/<module path>/<Op>".
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/** Each finder collects every place the graph states a value; they must agree. */
final class BertGraphFacts {
    private final OnnxGraph graph;
    private final String source;

    BertGraphFacts(OnnxGraph graph, String source) {
        this.graph = graph;
        this.source = source;
    }

    /**
     * The dotted module path of a node named by torch.onnx ({@code /encoder/layer.0/attention/self/Reshape}
     * gives {@code encoder.layer.0.attention.self}), starting at embeddings, encoder or pooler so that a
     * wrapper's prefix ({@code /0/auto_model/}, {@code /bert/}) drops out; null for other names.
     */
    static String modulePath(String nodeName) {
        String[] parts = nodeName.split("/");
        for (int i = 0; i < parts.length - 1; i++) {
            if (parts[i].equals("embeddings") || parts[i].equals("encoder") || parts[i].equals("pooler")) {
                return String.join(".", List.of(parts).subList(i, parts.length - 1));
            }
        }
        return null;
    }

    /**
     * From the (B, T, NH, HS) shapes the attention Reshapes use (a constant, or a Concat whose last two
     * inputs are constants); failing that, from the score scale (Div by √HS or Mul by 1/√HS).
     */
    int numAttentionHeads(int hidden) {
        TreeSet<Long> fromReshape = new TreeSet<>(), fromScale = new TreeSet<>();
        for (OnnxNode n : inModules(".attention.")) {
            if (n.opType().equals("Reshape") && n.inputs().size() == 2) {
                long[] shape = targetShape(n.inputs().get(1));
                if (shape.length == 4 && shape[2] > 0 && shape[3] > 0 && shape[2] * shape[3] == hidden) fromReshape.add(shape[2]);
            } else if ((n.opType().equals("Div") || n.opType().equals("Mul")) && n.inputs().size() == 2) {
                Optional<OnnxTensor> c = scalar(n.inputs().get(1)).filter(t -> t.dataType().isFloat());
                if (c.isEmpty()) continue;
                double s = c.get().floats()[0], squared = n.opType().equals("Div") ? s * s : 1 / (s * s);
                long headDim = Math.round(squared);
                if (headDim > 0 && Math.abs(squared - headDim) < 1e-3 * headDim && hidden % headDim == 0) {
                    fromScale.add(hidden / headDim);
                }
            }
        }
        TreeSet<Long> found = fromReshape.isEmpty() ? fromScale : fromReshape;
        return (int) (long) single(found, "the number of attention heads",
                "no attention Reshape to (batch, seq, heads, head_dim) and no 1/sqrt(head_dim) score scale");
    }

    /** The epsilon of every LayerNorm: LayerNormalization's attribute, or the constant added before Sqrt. */
    double layerNormEps() {
        TreeSet<Float> found = new TreeSet<>();
        for (OnnxNode n : graph.nodes()) {
            String module = modulePath(n.name());
            if (n.opType().equals("LayerNormalization")) {
                found.add(n.attribute("epsilon").map(OnnxAttribute::f).orElse(1e-5f));
            } else if (n.opType().equals("Sqrt") && module != null && module.endsWith("LayerNorm")) {
                graph.producer(n.inputs().get(0)).filter(p -> p.opType().equals("Add"))
                        .flatMap(add -> add.inputs().stream().map(this::scalar).flatMap(Optional::stream)
                                .filter(t -> t.dataType().isFloat()).findFirst())
                        .ifPresent(eps -> found.add(eps.floats()[0]));
            }
        }
        float eps = single(found, "the LayerNorm epsilon", "no LayerNormalization node and no LayerNorm Sqrt(var + eps)");
        return Double.parseDouble(Float.toString(eps)); // the decimal config.json had: 1e-12, not 9.9999998e-13
    }

    /** The HF name of the intermediate activation: "gelu" (erf), "gelu_new" (tanh), "relu". */
    String hiddenAct() {
        TreeSet<String> found = new TreeSet<>();
        for (OnnxNode n : inModules(".intermediate")) {
            switch (n.opType()) {
                case "Erf" -> found.add("gelu");
                case "Tanh", "FastGelu" -> found.add("gelu_new");
                case "Relu" -> found.add("relu");
                case "Gelu" -> found.add(n.attribute("approximate").map(OnnxAttribute::s).orElse("none")
                        .equals("tanh") ? "gelu_new" : "gelu");
                default -> { }
            }
        }
        return single(found, "the activation", "no Erf, Tanh, Relu or Gelu node in an intermediate module");
    }

    /** RoBERTa computes position ids from the input ids (a CumSum over non-padding tokens); BERT does not. */
    boolean robertaPositions() {
        return inModules("embeddings").stream().anyMatch(n -> n.opType().equals("CumSum"));
    }

    /** RoBERTa's padding id: the constant the input ids are compared with (Equal) to mask padding. */
    int robertaPadTokenId() {
        TreeSet<Long> found = new TreeSet<>();
        for (OnnxNode n : inModules("embeddings")) {
            if (n.opType().equals("Equal")) {
                for (String in : n.inputs()) {
                    scalar(in).filter(t -> t.dataType().isInteger()).ifPresent(t -> found.add(t.longs()[0]));
                }
            }
        }
        return (int) (long) single(found, "RoBERTa's padding id", "no Equal(input_ids, padding id) in the embeddings");
    }

    private List<OnnxNode> inModules(String fragment) {
        List<OnnxNode> out = new ArrayList<>();
        for (OnnxNode n : graph.nodes()) {
            String module = modulePath(n.name());
            if (module != null && module.contains(fragment)) out.add(n);
        }
        return out;
    }

    /** The values of a Reshape's shape input; a non-constant Concat input counts as one unknown (-1). */
    private long[] targetShape(String value) {
        Optional<OnnxTensor> c = graph.constant(value).filter(t -> t.dataType().isInteger());
        if (c.isPresent()) return c.get().longs();
        Optional<OnnxNode> concat = graph.producer(value).filter(p -> p.opType().equals("Concat"));
        if (concat.isEmpty()) return new long[0];
        List<Long> out = new ArrayList<>();
        for (String in : concat.get().inputs()) {
            Optional<OnnxTensor> part = graph.constant(in).filter(t -> t.dataType().isInteger());
            if (part.isPresent()) for (long v : part.get().longs()) out.add(v);
            else out.add(-1L);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** A constant holding one value (any rank). */
    private Optional<OnnxTensor> scalar(String value) {
        return graph.constant(value).filter(t -> t.numel() == 1 && (t.dataType().isFloat() || t.dataType().isInteger()));
    }

    private <T> T single(TreeSet<T> found, String what, String whyNone) {
        if (found.isEmpty()) throw new Lora4jException(source + ": cannot find " + what + " in the graph: " + whyNone);
        if (found.size() > 1) throw new Lora4jException(source + ": the graph gives different values for " + what + ": " + found);
        return found.first();
    }
}
