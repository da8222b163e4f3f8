// Variants of a parsed ONNX model for importer tests: nodes dropped, renamed or added, initializers
// renamed, without writing a file (the tensors keep pointing into the original file's bytes).
package dev.lora4j.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

final class GraphEdits {
    private GraphEdits() {}

    /** {@code model} with its nodes mapped ({@code nodes} returns null to drop one) and {@code extra} appended. */
    static OnnxModel withNodes(OnnxModel model, UnaryOperator<OnnxNode> nodes, List<OnnxNode> extra) {
        OnnxGraph g = model.graph();
        List<OnnxNode> out = new ArrayList<>();
        for (OnnxNode n : g.nodes()) {
            OnnxNode m = nodes.apply(n);
            if (m != null) out.add(m);
        }
        out.addAll(extra);
        return with(model, new OnnxGraph(g.name(), out, g.initializers(), g.inputs(), g.outputs()));
    }

    static OnnxModel withoutNodes(OnnxModel model, Predicate<OnnxNode> drop) {
        return withNodes(model, n -> drop.test(n) ? null : n, List.of());
    }

    /** {@code model} with initializers renamed by {@code rename} (and every node input following). */
    static OnnxModel renameInitializers(OnnxModel model, UnaryOperator<String> rename) {
        OnnxGraph g = model.graph();
        List<OnnxTensor> inits = new ArrayList<>();
        for (OnnxTensor t : g.initializers()) {
            inits.add(new OnnxTensor(model.source(), model.file(), rename.apply(t.name()), t.dataType(), t.dims(),
                    t.storage(), t.payload()));
        }
        List<OnnxNode> nodes = new ArrayList<>();
        for (OnnxNode n : g.nodes()) {
            List<String> inputs = n.inputs().stream().map(i -> g.initializer(i).isPresent() ? rename.apply(i) : i).toList();
            nodes.add(new OnnxNode(n.name(), n.opType(), n.domain(), inputs, n.outputs(), n.attributes()));
        }
        return with(model, new OnnxGraph(g.name(), nodes, inits, g.inputs(), g.outputs()));
    }

    static OnnxNode node(String name, String op, List<String> inputs, List<String> outputs, OnnxAttribute... attributes) {
        Map<String, OnnxAttribute> a = new LinkedHashMap<>();
        for (OnnxAttribute x : attributes) a.put(x.name(), x);
        return new OnnxNode(name, op, "", inputs, outputs, a);
    }

    /** A Constant node whose output {@code output} is the scalar {@code value}. */
    static OnnxNode constant(String output, float value) {
        byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value).array();
        return tensorConstant(output, new OnnxTensor("test", b, "", OnnxDataType.FLOAT, new long[0], OnnxTensor.Storage.RAW,
                new ProtoReader.Span(0, 4)));
    }

    static OnnxNode constant(String output, long value) {
        byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
        return tensorConstant(output, new OnnxTensor("test", b, "", OnnxDataType.INT64, new long[0], OnnxTensor.Storage.RAW,
                new ProtoReader.Span(0, 8)));
    }

    private static OnnxNode tensorConstant(String output, OnnxTensor t) {
        return node(output + "_node", "Constant", List.of(), List.of(output), new OnnxAttribute("value", OnnxAttribute.Type.TENSOR, t));
    }

    private static OnnxModel with(OnnxModel model, OnnxGraph graph) {
        return new OnnxModel(model.source(), model.file(), model.irVersion(), model.opsetImports(), model.producerName(),
                model.producerVersion(), graph);
    }
}
