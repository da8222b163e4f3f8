// An attribute of an ONNX node (LayerNormalization's epsilon, Transpose's perm, Constant's value, ...).
// Follows onnx.proto3 `AttributeProto`: name = 1, type = 20, f = 2, i = 3, s = 4, t = 5, g = 6,
// floats = 7, ints = 8, strings = 9, tensors = 10, graphs = 11.
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import java.nio.charset.StandardCharsets;

/**
 * {@code value} is a Float, Long, byte[], OnnxTensor, OnnxGraph, float[], long[] or a List of byte[],
 * OnnxTensor or OnnxGraph, as {@code type} says; null for the types lora4j does not read (sparse
 * tensors, type protos). The typed getters check the type.
 */
public record OnnxAttribute(String name, Type type, Object value) {
    /** {@code AttributeProto.AttributeType}, with its codes. */
    public enum Type {
        UNDEFINED(0), FLOAT(1), INT(2), STRING(3), TENSOR(4), GRAPH(5), FLOATS(6), INTS(7), STRINGS(8),
        TENSORS(9), GRAPHS(10), SPARSE_TENSOR(11), SPARSE_TENSORS(12), TYPE_PROTO(13), TYPE_PROTOS(14);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        static Type fromCode(int code) {
            for (Type t : values()) if (t.code == code) return t;
            return UNDEFINED;
        }
    }

    public float f() {
        return (Float) checked(Type.FLOAT);
    }

    public long i() {
        return (Long) checked(Type.INT);
    }

    /** A STRING attribute as UTF-8 text. */
    public String s() {
        return new String((byte[]) checked(Type.STRING), StandardCharsets.UTF_8);
    }

    public OnnxTensor t() {
        return (OnnxTensor) checked(Type.TENSOR);
    }

    public OnnxGraph g() {
        return (OnnxGraph) checked(Type.GRAPH);
    }

    public float[] floats() {
        return ((float[]) checked(Type.FLOATS)).clone();
    }

    public long[] ints() {
        return ((long[]) checked(Type.INTS)).clone();
    }

    private Object checked(Type expected) {
        if (type != expected) {
            throw new Lora4jException("attribute '" + name + "' is " + type + ", expected " + expected);
        }
        return value;
    }
}
