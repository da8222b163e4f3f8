package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken and unsupported files end in one Lora4jException naming the file and the tensor or field. */
class OnnxHostileTest {
    private static final byte[] W = TestProto.floatsLE(1, 2, 3, 4, 5, 6);

    private static String error(byte[] file) {
        String msg = assertThrows(Lora4jException.class, () -> OnnxModel.read(new ByteArrayInputStream(file), "bad.onnx")).getMessage();
        assertTrue(msg.startsWith("bad.onnx: "), msg);
        return msg;
    }

    private static void assertContains(String msg, String... parts) {
        for (String p : parts) assertTrue(msg.contains(p), "'" + p + "' not in: " + msg);
    }

    @Test
    void everyTruncationIsRejected() {
        byte[] file = TestProto.modelWith(TestProto.rawTensor("w", OnnxDataType.FLOAT, W, 2, 3));
        for (int n = 0; n < file.length; n++) error(Arrays.copyOf(file, n));
    }

    @Test
    void truncatedRealFileNamesTheTensorItStopsIn() {
        String msg = error(Arrays.copyOf(MiniLm.model().file(), 50_000_000));
        assertContains(msg, "initializer #", "tensor 'onnx::MatMul_", "raw_data claims 589824 bytes");
    }

    @Test
    void rawDataLengthMustMatchTheDims() {
        String msg = error(TestProto.modelWith(TestProto.rawTensor("w", OnnxDataType.FLOAT, Arrays.copyOf(W, 20), 2, 3)));
        assertContains(msg, "tensor 'w'", "20 bytes in raw_data, expected 24 for dims [2, 3] of FLOAT");
    }

    @Test
    void typedFieldCountsMustMatchTheDims() {
        TestProto t = new TestProto().varint(1, 3).varint(2, 1).string(8, "f").bytes(4, TestProto.floatsLE(1, 2));
        assertContains(error(TestProto.modelWith(t)), "tensor 'f'", "8 bytes in float_data, expected 12");
        TestProto ids = new TestProto().varint(1, 2).varint(2, 7).string(8, "i").bytes(7, new byte[] {1, 2, 3});
        assertContains(error(TestProto.modelWith(ids)), "tensor 'i'", "3 values in int64_data, expected 2");
        TestProto none = new TestProto().varint(1, 2).varint(2, 1).string(8, "empty");
        assertContains(error(TestProto.modelWith(none)), "tensor 'empty'", "no values");
        TestProto both = TestProto.rawTensor("twice", OnnxDataType.FLOAT, W, 2, 3).bytes(4, W);
        assertContains(error(TestProto.modelWith(both)), "tensor 'twice'", "raw_data and again in float_data");
        TestProto wrongField = new TestProto().varint(1, 1).varint(2, 7).string(8, "x").bytes(4, TestProto.floatsLE(1));
        assertContains(error(TestProto.modelWith(wrongField)), "is INT64 but has its values in float_data");
    }

    @Test
    void wrongWireTypeNamesTheField() {
        TestProto t = new TestProto().varint(1, 1).varint(2, 1).varint(8, 7).bytes(9, TestProto.floatsLE(1));
        assertContains(error(TestProto.modelWith(t)), "TensorProto.name has wire type 0, expected 2 (length-delimited)",
                "initializer #0");
        assertContains(error(new TestProto().string(1, "8").toByteArray()), "ModelProto.ir_version has wire type 2");
    }

    @Test
    void unsupportedOrInvalidTensors() {
        TestProto external = TestProto.rawTensor("ext", OnnxDataType.FLOAT, new byte[0], 0).varint(14, 1);
        assertContains(error(TestProto.modelWith(external)), "tensor 'ext'", "external data", "not supported");
        TestProto segment = TestProto.rawTensor("seg", OnnxDataType.FLOAT, W, 2, 3).message(3, new TestProto().varint(1, 0));
        assertContains(error(TestProto.modelWith(segment)), "tensor 'seg'", "segments");
        assertContains(error(TestProto.modelWith(new TestProto().varint(2, 99).string(8, "u"))), "tensor 'u'", "unknown data_type 99");
        assertContains(error(TestProto.modelWith(TestProto.rawTensor("neg", OnnxDataType.FLOAT, W, -2, 3))), "negative dimension");
        TestProto unpacked = new TestProto().varint(1, 1).varint(2, 1).string(8, "up").float32(4, 1f);
        assertContains(error(TestProto.modelWith(unpacked)), "tensor 'up'", "unpacked");
    }

    @Test
    void notAModel() {
        assertContains(error(new byte[0]), "no graph");
        assertContains(error("{\"json\": true}".getBytes(StandardCharsets.UTF_8)), "not a valid ONNX file");
    }

    @Test
    void missingOrDirectoryPath(@TempDir Path dir) {
        Path missing = dir.resolve("none.onnx");
        String msg = assertThrows(Lora4jException.class, () -> OnnxModel.read(missing)).getMessage();
        assertTrue(msg.equals(missing + ": not found"), msg);
        assertTrue(assertThrows(Lora4jException.class, () -> OnnxModel.read(dir)).getMessage().contains("is a directory"));
    }

    @Test
    void writerRejectsWhatItCannotReplaceAndWritesNothing(@TempDir Path dir) throws Exception {
        byte[] file = TestProto.model(new TestProto().string(2, "g")
                .message(5, TestProto.rawTensor("w", OnnxDataType.FLOAT, W, 2, 3))
                .message(5, new TestProto().varint(1, 1).varint(2, 7).string(8, "ids").bytes(7, new byte[] {1}))
                .message(5, new TestProto().varint(1, 1).varint(2, 10).string(8, "half").bytes(5, new byte[] {1})));
        OnnxModel m = OnnxModel.read(new ByteArrayInputStream(file), "small.onnx");
        Path out = dir.resolve("out.onnx");
        String[][] cases = {
                {"nope", "no initializer 'nope'"}, {"w", "holds 6 values (dims [2, 3]), got 5"},
                {"ids", "is INT64, not a floating-point tensor"}, {"half", "varints"}};
        for (String[] c : cases) {
            float[] v = new float[c[0].equals("w") ? 5 : 1];
            String msg = assertThrows(Lora4jException.class, () -> OnnxWriter.write(m, Map.of(c[0], v), out)).getMessage();
            assertContains(msg, "small.onnx", c[1]);
        }
        String msg = assertThrows(Lora4jException.class,
                () -> OnnxWriter.write(m, Map.of(), dir.resolve("missing/out.onnx"))).getMessage();
        assertContains(msg, "does not exist");
        try (var files = Files.list(dir)) {
            assertTrue(files.findAny().isEmpty(), "nothing written, no temporary file left");
        }
    }

    /** Fuzzer findings: a value of another kind than the type made the typed getters throw ClassCastException. */
    @Test
    void anAttributeHoldsOnlyTheKindOfValueItsTypeNames() {
        TestProto tensorHoldingAString = new TestProto().string(1, "value").bytes(4, new byte[] {'x'}).varint(20, 4 /* TENSOR */);
        assertContains(error(withAttribute(tensorHoldingAString)), "attribute 'value' is a TENSOR without a value");
        TestProto graphHoldingATensor = new TestProto().string(1, "body").message(5, TestProto.rawTensor("", OnnxDataType.FLOAT, W, 6))
                .varint(20, 5 /* GRAPH */);
        assertContains(error(withAttribute(graphHoldingATensor)), "attribute 'body' is a GRAPH without a value");
        TestProto tensorsAndAString = new TestProto().string(1, "ts").bytes(9, new byte[] {'x'})
                .message(10, TestProto.rawTensor("", OnnxDataType.FLOAT, W, 6)).varint(20, 9 /* TENSORS */);
        assertContains(error(withAttribute(tensorsAndAString)), "node #0", "attribute 'ts' is TENSORS but also holds values of another type");
        TestProto graphsHoldingAString = new TestProto().string(1, "gs").bytes(9, new byte[] {'x'}).varint(20, 10 /* GRAPHS */);
        assertContains(error(withAttribute(graphsHoldingAString)), "attribute 'gs' is GRAPHS but also holds values of another type");
    }

    /** Fuzzer finding: dims [2^60] of FLOAT pass the element count, then their byte size overflowed (ArithmeticException). */
    @Test
    void dimsWhoseByteSizeOverflowsAreRejected() {
        String msg = error(TestProto.modelWith(TestProto.rawTensor("huge", OnnxDataType.FLOAT, W, 1L << 60)));
        assertContains(msg, "tensor 'huge'", "dims [1152921504606846976] of FLOAT whose size in bytes overflows");
    }

    private static byte[] withAttribute(TestProto attribute) {
        return TestProto.model(new TestProto().string(2, "g").message(1, new TestProto().string(3, "n").string(4, "Constant").message(5, attribute)));
    }
}
