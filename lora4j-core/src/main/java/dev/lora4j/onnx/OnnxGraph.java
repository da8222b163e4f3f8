// An ONNX graph: nodes in file order, initializers (the weights), inputs and outputs, with look-ups
// from a value name to the node producing it, the nodes consuming it and its constant value.
// Follows onnx.proto3 `GraphProto`: node = 1, name = 2, initializer = 5, input = 11, output = 12.
package dev.lora4j.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Immutable. Initializers keep their file order (the order {@link OnnxWriter} preserves). */
public final class OnnxGraph {
    private final String name;
    private final List<OnnxNode> nodes;
    private final Map<String, OnnxTensor> initializers;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();

    /** Initializer names must be distinct (the reader checks it for files). */
    public OnnxGraph(String name, List<OnnxNode> nodes, List<OnnxTensor> initializers, List<OnnxValueInfo> inputs,
                     List<OnnxValueInfo> outputs) {
        this.name = name;
        this.nodes = List.copyOf(nodes);
        this.initializers = new LinkedHashMap<>();
        for (OnnxTensor t : initializers) {
            if (this.initializers.put(t.name(), t) != null) {
                throw new IllegalArgumentException("two initializers named '" + t.name() + "'");
            }
        }
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        for (OnnxNode n : this.nodes) {
            for (String out : n.outputs()) producers.put(out, n);
            for (String in : n.inputs()) {
                if (!in.isEmpty()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
    }

    public String name() {
        return name;
    }

    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** The initializers in file order. */
    public List<OnnxTensor> initializers() {
        return List.copyOf(initializers.values());
    }

    public Optional<OnnxTensor> initializer(String tensorName) {
        return Optional.ofNullable(initializers.get(tensorName));
    }

    public List<OnnxValueInfo> inputs() {
        return inputs;
    }

    public List<OnnxValueInfo> outputs() {
        return outputs;
    }

    /** The node whose output is {@code value}; empty for graph inputs and initializers. */
    public Optional<OnnxNode> producer(String value) {
        return Optional.ofNullable(producers.get(value));
    }

    /** The nodes reading {@code value}, in graph order. */
    public List<OnnxNode> consumers(String value) {
        return List.copyOf(consumers.getOrDefault(value, List.of()));
    }

    /** The value of {@code value} if it is constant: an initializer or the output of a Constant node. */
    public Optional<OnnxTensor> constant(String value) {
        OnnxTensor init = initializers.get(value);
        if (init != null) return Optional.of(init);
        OnnxNode n = producers.get(value);
        if (n == null || !n.opType().equals("Constant") || !(n.domain().isEmpty() || n.domain().equals("ai.onnx"))) {
            return Optional.empty();
        }
        return n.attribute("value").filter(a -> a.type() == OnnxAttribute.Type.TENSOR).map(OnnxAttribute::t);
    }
}
