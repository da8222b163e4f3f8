// Builds protobuf messages field by field with protobuf-java's CodedOutputStream, to make small and
// hostile ONNX files for tests (field numbers as in onnx.proto3, written here independently).
package dev.lora4j.onnx;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

final class TestProto {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CodedOutputStream out = CodedOutputStream.newInstance(bytes);

    TestProto varint(int field, long value) {
        return write(() -> out.writeInt64(field, value));
    }

    TestProto float32(int field, float value) {
        return write(() -> out.writeFloat(field, value));
    }

    TestProto string(int field, String value) {
        return write(() -> out.writeString(field, value));
    }

    TestProto bytes(int field, byte[] value) {
        return write(() -> out.writeByteArray(field, value));
    }

    TestProto message(int field, TestProto message) {
        return bytes(field, message.toByteArray());
    }

    byte[] toByteArray() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A TensorProto with its values as little-endian raw_data. */
    static TestProto rawTensor(String name, OnnxDataType type, byte[] raw, long... dims) {
        TestProto t = new TestProto();
        for (long d : dims) t.varint(1, d);
        return t.varint(2, type.code()).string(8, name).bytes(9, raw);
    }

    static byte[] floatsLE(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    /** A ModelProto (IR 8, opset 17) around {@code graph}, with the graph as the last field. */
    static byte[] model(TestProto graph) {
        TestProto opset = new TestProto().string(1, "").varint(2, 17);
        return new TestProto().varint(1, 8).string(2, "lora4j-test").message(8, opset).message(7, graph).toByteArray();
    }

    /** A graph named "g" holding only {@code initializer}. */
    static byte[] modelWith(TestProto initializer) {
        return model(new TestProto().string(2, "g").message(5, initializer));
    }

    private interface Write {
        void run() throws IOException;
    }

    private TestProto write(Write w) {
        try {
            w.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }
}
