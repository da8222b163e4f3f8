package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The reader on the real all-MiniLM-L6-v2 file (facts from DATA.md and its graph) and on a hand-made file. */
class OnnxModelTest {
    @Test
    void readsTheRealFile() {
        OnnxModel m = MiniLm.model();
        assertEquals(6, m.irVersion());
        assertEquals(11, m.opset());
        assertEquals("pytorch 2.0.1", m.producerName() + " " + m.producerVersion());
        OnnxGraph g = m.graph();
        assertEquals("torch_jit", g.name());
        assertEquals(637, g.nodes().size());
        assertEquals(102, g.initializers().size());
        assertEquals(101, g.initializers().stream().filter(t -> t.dataType() == OnnxDataType.FLOAT).count());
        assertEquals(36, g.initializers().stream().filter(t -> t.name().startsWith("onnx::MatMul_")).count());
        assertEquals(List.of(new OnnxValueInfo("input_ids", OnnxDataType.INT64, List.of("batch_size", "sequence_length")),
                new OnnxValueInfo("attention_mask", OnnxDataType.INT64, List.of("batch_size", "sequence_length")),
                new OnnxValueInfo("token_type_ids", OnnxDataType.INT64, List.of("batch_size", "sequence_length"))), g.inputs());
        assertEquals(List.of(new OnnxValueInfo("last_hidden_state", OnnxDataType.FLOAT,
                List.of("batch_size", "sequence_length", "384"))), g.outputs());
    }

    @Test
    void realFileNodesAttributesAndConstants() {
        OnnxGraph g = MiniLm.model().graph();
        OnnxNode query = g.producer("/encoder/layer.0/attention/self/query/MatMul_output_0").orElseThrow();
        assertEquals("MatMul", query.opType());
        assertEquals(List.of("/embeddings/LayerNorm/Add_1_output_0", "onnx::MatMul_787"), query.inputs());
        assertEquals(List.of(query), g.consumers("onnx::MatMul_787"));
        OnnxNode transpose = g.nodes().stream().filter(n -> n.name().equals("/encoder/layer.0/attention/self/Transpose")).findFirst().orElseThrow();
        assertArrayEquals(new long[] {0, 2, 1, 3}, transpose.attribute("perm").orElseThrow().ints());
        assertArrayEquals(new float[] {1e-12f}, g.constant("/embeddings/LayerNorm/Constant_1_output_0").orElseThrow().floats());
        assertArrayEquals(new long[] {12}, g.constant("/encoder/layer.0/attention/self/Constant_2_output_0").orElseThrow().longs());
        OnnxTensor positions = g.initializer("embeddings.position_ids").orElseThrow();
        assertArrayEquals(LongStream.range(0, 512).toArray(), positions.longs());
        assertArrayEquals(new long[] {30522, 384}, g.initializer("embeddings.word_embeddings.weight").orElseThrow().dims());
    }

    @Test
    void readsEveryFieldOfAHandMadeFile() {
        TestProto constant = new TestProto().string(2, "c").string(3, "const0").string(4, "Constant")
                .message(5, new TestProto().string(1, "value").varint(20, 4)
                        .message(5, TestProto.rawTensor("", OnnxDataType.INT64, new byte[] {5, 0, 0, 0, 0, 0, 0, 0}, 1)))
                .message(5, new TestProto().string(1, "alpha").varint(20, 1).float32(2, 0.25f))
                .message(5, new TestProto().string(1, "axis").varint(20, 2))
                .message(5, new TestProto().string(1, "mode").varint(20, 3).bytes(4, "tanh".getBytes(StandardCharsets.UTF_8)))
                .message(5, new TestProto().string(1, "perm").varint(20, 7).bytes(8, new byte[] {1, 0}))
                .message(5, new TestProto().string(1, "scales").varint(20, 6).float32(7, 2f).float32(7, 3f));
        TestProto floatData = new TestProto().varint(1, 2).varint(2, 1).string(8, "fd").bytes(4, TestProto.floatsLE(1.5f, -2f));
        TestProto int64Data = new TestProto().varint(1, 3).varint(2, 7).string(8, "ids").bytes(7, new byte[] {1, 0x7f, (byte) 0x80, 1});
        TestProto halfData = new TestProto().varint(1, 2).varint(2, 10).string(8, "half").bytes(5, new byte[] {(byte) 0x80, 0x78, 0});
        TestProto input = new TestProto().string(1, "x").message(2, new TestProto().message(1, new TestProto().varint(1, 1)
                .message(2, new TestProto().message(1, new TestProto().string(2, "n")).message(1, new TestProto().varint(1, 4)))));
        byte[] file = TestProto.model(new TestProto().message(1, constant).string(2, "tiny")
                .message(5, TestProto.rawTensor("w", OnnxDataType.FLOAT, TestProto.floatsLE(1, 2, 3, 4, 5, 6), 2, 3))
                .message(5, floatData).message(5, int64Data).message(5, halfData).message(11, input));
        OnnxModel m = OnnxModel.read(new ByteArrayInputStream(file), "tiny.onnx");
        assertEquals(8, m.irVersion());
        assertEquals(17, m.opset());
        OnnxGraph g = m.graph();
        assertEquals("tiny", g.name());
        OnnxNode c = g.nodes().get(0);
        assertEquals("Constant 'const0'", c.toString());
        assertArrayEquals(new long[] {5}, g.constant("c").orElseThrow().longs());
        assertEquals(0.25f, c.attribute("alpha").orElseThrow().f());
        assertEquals(0L, c.attribute("axis").orElseThrow().i(), "proto3 leaves out zeros: the type says INT");
        assertEquals("tanh", c.attribute("mode").orElseThrow().s());
        assertArrayEquals(new long[] {1, 0}, c.attribute("perm").orElseThrow().ints(), "packed ints");
        assertArrayEquals(new float[] {2, 3}, c.attribute("scales").orElseThrow().floats(), "unpacked floats");
        OnnxTensor w = g.initializer("w").orElseThrow();
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toTensor().data());
        assertEquals(List.of(2, 3), List.of(w.shape().dim(0), w.shape().dim(1)));
        assertArrayEquals(new float[] {1.5f, -2f}, g.initializer("fd").orElseThrow().floats());
        assertArrayEquals(new long[] {1, 127, 128}, g.initializer("ids").orElseThrow().longs());
        assertArrayEquals(new float[] {1f, 0f}, g.initializer("half").orElseThrow().floats());
        assertEquals(List.of(new OnnxValueInfo("x", OnnxDataType.FLOAT, List.of("n", "4"))), g.inputs());
        assertTrue(g.producer("x").isEmpty());
    }
}
