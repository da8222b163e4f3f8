// Fuzzes the ONNX reader (protobuf wire format, tensors, attributes, subgraphs), the lazy decoding of
// every tensor and attribute, and the BERT importer with BertOnnx's config on whatever still parses.
// Any outcome but success or a Lora4jException fails.
package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.model.bert.BertOnnx;
import dev.lora4j.testing.Fuzz;
import java.io.ByteArrayInputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.MethodSource;

class OnnxFuzzTest {
    /** Tiny BERT and RoBERTa exports, and a graph with every attribute type and tensor storage lora4j reads. */
    static Stream<Named<byte[]>> seeds() {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        valid.put("tiny bert", TinyBertOnnx.model(false));
        valid.put("tiny roberta", TinyBertOnnx.model(true));
        valid.put("every storage and attribute", everyKind());
        return Fuzz.seeds(valid, Fuzz.oneOf(Fuzz.protobuf(), Fuzz.bytes()), 20260102L, Fuzz.MUTANTS);
    }

    @Test
    void theTinySeedsAreExportsTheImporterAccepts() {
        for (boolean roberta : new boolean[] {false, true}) {
            OnnxModel model = OnnxModel.read(new ByteArrayInputStream(TinyBertOnnx.model(roberta)), "tiny.onnx");
            OnnxBertConfig expected = new OnnxBertConfig(roberta ? "roberta" : "bert", TinyBertOnnx.VOCAB, TinyBertOnnx.HIDDEN, 1,
                    TinyBertOnnx.HEADS, TinyBertOnnx.INTERMEDIATE, "gelu", TinyBertOnnx.POSITIONS, TinyBertOnnx.TYPES, 1e-12, roberta ? 1 : 0);
            assertEquals(expected, OnnxBertImporter.read(model).config());
        }
        decodeAll(OnnxModel.read(new ByteArrayInputStream(everyKind()), "every.onnx").graph());
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Fuzz.parsesOrRejects(() -> {
            OnnxModel model = OnnxModel.read(new ByteArrayInputStream(input), "fuzz.onnx");
            decodeAll(model.graph());
            OnnxBert bert = OnnxBertImporter.read(model);
            bert.stateDict();
            BertOnnx.config(bert, "fuzz.onnx");
        });
    }

    /** Every initializer's values and every attribute through its typed getter, subgraphs included. */
    private static void decodeAll(OnnxGraph graph) {
        graph.initializers().forEach(OnnxFuzzTest::decode);
        for (OnnxNode n : graph.nodes()) {
            for (OnnxAttribute a : n.attributes().values()) {
                switch (a.type()) {
                    case FLOAT -> a.f();
                    case INT -> a.i();
                    case STRING -> a.s();
                    case TENSOR -> decode(a.t());
                    case GRAPH -> decodeAll(a.g());
                    case FLOATS -> a.floats();
                    case INTS -> a.ints();
                    case TENSORS, GRAPHS -> ((List<?>) a.value()).forEach(v -> {
                        if (v instanceof OnnxTensor t) decode(t);
                        else decodeAll((OnnxGraph) v);
                    });
                    default -> { }
                }
            }
        }
    }

    private static void decode(OnnxTensor t) {
        if (t.dataType().isFloat()) t.toTensor();
        else if (t.dataType().isInteger()) t.longs();
    }

    /** Initializers in raw_data and in each typed field, and a node with an attribute of every type lora4j reads. */
    private static byte[] everyKind() {
        TestProto graph = new TestProto().string(2, "g")
                .message(5, TestProto.rawTensor("raw_f16", OnnxDataType.FLOAT16, new byte[] {0, 60, 0, -68}, 2))
                .message(5, TestProto.rawTensor("raw_i8", OnnxDataType.INT8, new byte[] {-1, 2, 3}, 3))
                .message(5, new TestProto().varint(1, 2).varint(2, OnnxDataType.FLOAT.code()).string(8, "float_data")
                        .bytes(4, TestProto.floatsLE(1.5f, -2)))
                .message(5, new TestProto().varint(1, 3).varint(2, OnnxDataType.INT64.code()).string(8, "int64_data")
                        .bytes(7, new byte[] {1, 127, (byte) 0x80, 1}))
                .message(5, new TestProto().varint(1, 2).varint(2, OnnxDataType.BFLOAT16.code()).string(8, "int32_data")
                        .bytes(5, new byte[] {(byte) 0x80, 0x7f, 0}))
                .message(5, new TestProto().varint(1, 1).varint(2, OnnxDataType.DOUBLE.code()).string(8, "double_data")
                        .bytes(10, TinyBertOnnx.longsLE(Double.doubleToLongBits(0.25))))
                .message(5, new TestProto().varint(1, 1).varint(2, OnnxDataType.UINT64.code()).string(8, "uint64_data")
                        .bytes(11, new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, 1}))
                .message(5, new TestProto().varint(1, 2).varint(2, OnnxDataType.STRING.code()).string(8, "strings")
                        .bytes(6, new byte[] {'a'}).bytes(6, new byte[] {'b'}))
                .message(5, new TestProto().varint(1, 0).varint(2, OnnxDataType.FLOAT.code()).string(8, "empty"));
        TestProto sub = new TestProto().string(2, "sub").message(1, TinyBertOnnx.node("inner", "Identity", List.of("x"), List.of("y")));
        TestProto scalar = TestProto.rawTensor("", OnnxDataType.FLOAT, TestProto.floatsLE(3), 1);
        graph.message(1, TinyBertOnnx.node("every_attribute", "Custom", List.of("raw_f16", ""), List.of("out"),
                new TestProto().string(1, "f").float32(2, 0.5f).varint(20, 1 /* FLOAT */),
                new TestProto().string(1, "i").varint(3, -7).varint(20, 2 /* INT */),
                new TestProto().string(1, "s").bytes(4, "tanh".getBytes()).varint(20, 3 /* STRING */),
                TinyBertOnnx.tensorAttribute("t", scalar),
                new TestProto().string(1, "g").message(6, sub).varint(20, 5 /* GRAPH */),
                new TestProto().string(1, "floats").bytes(7, TestProto.floatsLE(1, 2)).varint(20, 6 /* FLOATS */),
                new TestProto().string(1, "ints").bytes(8, new byte[] {1, 2, 3}).varint(20, 7 /* INTS */),
                new TestProto().string(1, "strings").bytes(9, new byte[] {'x'}).varint(20, 8 /* STRINGS */),
                new TestProto().string(1, "tensors").message(10, scalar).varint(20, 9 /* TENSORS */),
                new TestProto().string(1, "graphs").message(11, sub).varint(20, 10 /* GRAPHS */)));
        return TestProto.model(graph);
    }
}
