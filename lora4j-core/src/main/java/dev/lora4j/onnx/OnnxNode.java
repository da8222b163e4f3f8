// A node of an ONNX graph: one operator applied to named values.
// Follows onnx.proto3 `NodeProto`: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
package dev.lora4j.onnx;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Inputs and outputs are value names ("" marks an omitted optional input); attributes by name. */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       Map<String, OnnxAttribute> attributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = Map.copyOf(attributes);
    }

    public Optional<OnnxAttribute> attribute(String attributeName) {
        return Optional.ofNullable(attributes.get(attributeName));
    }

    @Override
    public String toString() {
        return opType + " '" + name + "'";
    }
}
