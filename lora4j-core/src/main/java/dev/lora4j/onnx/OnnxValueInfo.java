// A graph input or output: its name, element type and shape.
// Follows onnx.proto3 `ValueInfoProto` (name = 1, type = 2) with `TypeProto.Tensor` (elem_type = 1,
// shape = 2) and `TensorShapeProto.Dimension` (dim_value = 1, dim_param = 2).
package dev.lora4j.onnx;

import java.util.List;

/**
 * {@code elemType} is null for a value that is not a tensor (sequence, map) or of an unknown type;
 * {@code dims} has one entry per dimension: its size in decimal, its symbolic name
 * ({@code "batch_size"}), or "" when unknown.
 */
public record OnnxValueInfo(String name, OnnxDataType elemType, List<String> dims) {
    public OnnxValueInfo {
        dims = List.copyOf(dims);
    }
}
