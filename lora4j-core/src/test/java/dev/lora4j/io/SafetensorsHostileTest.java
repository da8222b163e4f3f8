// Corrupt and malicious safetensors files: each must fail at open() with one Lora4jException that
// names the file, and the tensor key when there is one.
package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsHostileTest {
    @TempDir
    Path dir;

    private Path file(String header, byte[] data) throws IOException {
        return RawSafetensors.write(dir.resolve("model.safetensors"), header, data);
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    private static void rejects(Path file, String... parts) {
        var e = assertThrows(Lora4jException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }

    @Test
    void shorterThanEightBytes() throws IOException {
        rejects(RawSafetensors.writeBytes(dir.resolve("model.safetensors"), new byte[5]), "5 bytes", "too short");
        rejects(RawSafetensors.writeBytes(dir.resolve("model.safetensors"), new byte[0]), "0 bytes");
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        byte[] bytes = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(100).put("{}".getBytes()).array();
        rejects(RawSafetensors.writeBytes(dir.resolve("model.safetensors"), bytes), "header length 100", "past the end");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        byte[] bytes = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        rejects(RawSafetensors.writeBytes(dir.resolve("model.safetensors"), bytes), "18446744073709551615", "limit");
    }

    @Test
    void headerNotJson() throws IOException {
        rejects(file("{\"w\": {\"dtype\": F32}}", new byte[0]), "not valid JSON", "line 1, column");
        rejects(file("PK\u0003\u0004garbage", new byte[0]), "not valid JSON");
        rejects(file("[1, 2]", new byte[0]), "an array", "expected a JSON object");
        rejects(file("{} trailing", new byte[0]), "not valid JSON");
        rejects(file("", new byte[0]), "empty");
        byte[] notUtf8 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4)
                .put(new byte[] {'{', '"', (byte) 0xFF, '"'}).array();
        rejects(RawSafetensors.writeBytes(dir.resolve("model.safetensors"), notUtf8), "not valid JSON", "UTF-8");
    }

    @Test
    void duplicateKey() throws IOException {
        String w = entry("w", "F32", "[1]", "[0,4]");
        rejects(file("{" + w + "," + w + "}", new byte[4]), "not valid JSON", "Duplicate", "'w'");
    }

    @Test
    void badMetadata() throws IOException {
        rejects(file("{\"__metadata__\":{\"step\":5}}", new byte[0]), "__metadata__", "'step'", "an integer 5", "expected a string");
        rejects(file("{\"__metadata__\":[\"x\"]}", new byte[0]), "__metadata__", "expected an object");
    }

    @Test
    void entryNotAnObject() throws IOException {
        rejects(file("{\"w\": 3}", new byte[0]), "tensor 'w'", "expected an object");
    }

    @Test
    void unknownOrMissingDtype() throws IOException {
        rejects(file("{" + entry("h.0.mlp.c_fc.weight", "Q4_0", "[1]", "[0,1]") + "}", new byte[1]),
                "tensor 'h.0.mlp.c_fc.weight'", "unknown dtype 'Q4_0'", "BF16");
        rejects(file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor 'w'", "dtype", "nothing");
    }

    @Test
    void negativeOrNonIntegerShape() throws IOException {
        rejects(file("{" + entry("w", "F32", "[2,-1]", "[0,0]") + "}", new byte[0]), "tensor 'w'", "shape", "-1");
        rejects(file("{" + entry("w", "F32", "[2.5]", "[0,4]") + "}", new byte[8]), "tensor 'w'", "shape", "2.5");
        rejects(file("{" + entry("w", "F32", "[\"2\"]", "[0,8]") + "}", new byte[8]), "tensor 'w'", "shape", "a string");
        rejects(file("{" + entry("w", "F32", "7", "[0,28]") + "}", new byte[28]), "tensor 'w'", "shape", "an integer 7");
        rejects(file("{" + entry("w", "F32", "[99999999999999999999]", "[0,4]") + "}", new byte[4]), "tensor 'w'", "shape");
    }

    @Test
    void malformedOffsets() throws IOException {
        rejects(file("{" + entry("w", "F32", "[1]", "[0]") + "}", new byte[4]), "tensor 'w'", "data_offsets", "2 non-negative");
        rejects(file("{" + entry("w", "F32", "[1]", "[-4,0]") + "}", new byte[4]), "tensor 'w'", "data_offsets");
    }

    @Test
    void offsetsPastTheDataBlock() throws IOException {
        rejects(file("{" + entry("w", "F32", "[4]", "[0,16]") + "}", new byte[12]),
                "tensor 'w'", "data_offsets [0, 16]", "past the end of the data block (12 bytes)");
    }

    @Test
    void beginAfterEnd() throws IOException {
        rejects(file("{" + entry("w", "F32", "[1]", "[8,4]") + "}", new byte[8]), "tensor 'w'", "[8, 4]", "begin after end");
    }

    @Test
    void overlappingTensors() throws IOException {
        String header = "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}";
        rejects(file(header, new byte[12]), "'a'", "'b'", "overlap");
    }

    @Test
    void emptyTensorsOverlapNothing() throws IOException {
        String header = "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("e", "F32", "[0]", "[4,4]") + "}";
        SafetensorsFile.open(file(header, new byte[8])).close();
    }

    @Test
    void sizeMismatch() throws IOException {
        rejects(file("{" + entry("h.0.attn.c_attn.weight", "F32", "[10,20]", "[0,400]") + "}", new byte[400]),
                "tensor 'h.0.attn.c_attn.weight': data_offsets [0, 400] hold 400 bytes but shape [10, 20] × F32 needs 800");
    }

    @Test
    void shapeWhoseSizeOverflows() throws IOException {
        String huge = "[4294967296,4294967296,4294967296]";
        rejects(file("{" + entry("w", "F32", huge, "[0,4]") + "}", new byte[4]), "tensor 'w'", "too large");
    }

    @Test
    void packedDtypeNotFillingBytes() throws IOException {
        rejects(file("{" + entry("q", "F4", "[3]", "[0,1]") + "}", new byte[1]), "tensor 'q'", "whole number of bytes");
    }

    @Test
    void readingAnIntegerTensorAsFloat() throws IOException {
        Path f = file("{" + entry("position_ids", "I64", "[1,2]", "[0,16]") + "}", new byte[16]);
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            var e = assertThrows(Lora4jException.class, () -> st.read("position_ids"));
            assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("'position_ids'")
                    && e.getMessage().contains("I64"), e.getMessage());
        }
    }

    @Test
    void nonFiniteValuesAreRefusedNamingTensorAndPosition() throws IOException {
        String header = "{" + entry("f32", "F32", "[2,3]", "[0,24]") + "," + entry("bf16", "BF16", "[4]", "[24,32]") + ","
                + entry("f16", "F16", "[2]", "[32,36]") + "," + entry("f64", "F64", "[1,2]", "[36,52]") + ","
                + entry("big", "F32", "[40000]", "[52,160052]") + "}";
        float[] big = new float[40000];
        big[39999] = Float.POSITIVE_INFINITY;   // in the third decoding chunk
        Path f = file(header, RawSafetensors.concat(RawSafetensors.f32(1, 2, 3, Float.NaN, 5, 6), RawSafetensors.u16(0x3F80, 0, 0x7F80, 0),
                RawSafetensors.u16(0x3C00, 0xFC00), RawSafetensors.f64(0.5, 1e300), RawSafetensors.f32(big)));
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            nonFinite(() -> st.read("f32"), "tensor 'f32' holds NaN at flat index 3 (element [1, 0] of shape [2, 3])");
            nonFinite(() -> st.read("bf16"), "tensor 'bf16' holds Infinity at flat index 2");
            nonFinite(() -> st.readInto("f16", new float[2]), "tensor 'f16' holds -Infinity at flat index 1");
            nonFinite(() -> st.read("f64"), "tensor 'f64' holds Infinity at flat index 1", "beyond float32's range");
            nonFinite(() -> st.read("big"), "tensor 'big' holds Infinity at flat index 39999");
        }
    }

    private static void nonFinite(org.junit.jupiter.api.function.Executable read, String... parts) {
        var e = assertThrows(Lora4jException.class, read);
        assertTrue(e.getMessage().contains("model.safetensors: ") && e.getMessage().contains("must be finite"), e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }
}
