// Reads files built byte by byte (RawSafetensors), independent of the writer: every float dtype,
// headers of any length, gaps between tensors, offsets past 2 GiB; and the reader's usage errors.
package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsReadTest {
    @TempDir
    Path dir;

    private static void assertMessage(Lora4jException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }

    @Test
    void readsAHandWrittenFileWithEveryFloatDtype() throws IOException {
        // header of odd length (no padding): the data block starts unaligned; a 2-byte gap after "h".
        String header = """
                {"__metadata__": {"format": "pt"},
                 "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                 "h": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]},
                 "b": {"dtype": "BF16", "shape": [1, 3], "data_offsets": [24, 30]},
                 "d": {"dtype": "F64", "shape": [], "data_offsets": [30, 38]},
                 "i": {"dtype": "I64", "shape": [1], "data_offsets": [38, 46]}}""";
        byte[] data = RawSafetensors.concat(
                RawSafetensors.f32(1f, -2f, 0.5f, 3e-5f),
                RawSafetensors.u16(0x3C00, 0xC100, 0x0001), new byte[2],
                RawSafetensors.u16(0x3F80, 0xC020, 0x4049),
                RawSafetensors.f64(-0.25),
                new byte[] {7, 0, 0, 0, 0, 0, 0, 0});
        Path file = RawSafetensors.write(dir.resolve("hand.safetensors"), header, data);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(file, f.path());
            assertEquals(List.of("b", "d", "h", "i", "w"), f.names());
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertTrue(f.contains("w"));
            assertFalse(f.contains("__metadata__"));
            assertEquals(new TensorInfo("h", DType.F16, new long[] {3}, 16, 22), f.entry("h"));
            assertEquals(new Shape(2, 2), f.read("w").shape());
            assertArrayEquals(new float[] {1f, -2f, 0.5f, 3e-5f}, f.read("w").data());
            assertArrayEquals(new float[] {1f, -2.5f, 0x1p-24f}, f.read("h").data());
            assertArrayEquals(new float[] {1f, -2.5f, 3.140625f}, f.read("b").data());
            assertEquals(new Shape(), f.read("d").shape());
            assertArrayEquals(new float[] {-0.25f}, f.read("d").data());
            assertEquals(DType.I64, f.entry("i").dtype());
        }
    }

    @Test
    void offsetsPastTwoGibibytes() throws IOException {
        long pad = (1L << 31) + 16; // a U8 tensor larger than any int index
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + pad + "," + (pad + 12) + "]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("sparse.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json).flip());
            ch.write(ByteBuffer.wrap(RawSafetensors.f32(1.5f, -2f, 4f)), 8 + json.length + pad); // sparse gap
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1.5f, -2f, 4f}, f.read("tail").data());
            var e = assertThrows(Lora4jException.class, () -> f.read("pad"));
            assertMessage(e, "sparse.safetensors", "'pad'", "U8");
        }
    }

    @Test
    void missingFileSaysNotFound() {
        var e = assertThrows(Lora4jException.class, () -> SafetensorsFile.open(dir.resolve("nope.safetensors")));
        assertMessage(e, "nope.safetensors", "not found");
        e = assertThrows(Lora4jException.class, () -> SafetensorsFile.open(dir));
        assertMessage(e, "directory");
    }

    @Test
    void usageErrorsNameTheFileAndTheKey() throws IOException {
        Path file = RawSafetensors.write(dir.resolve("u.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", RawSafetensors.f32(1, 2));
        SafetensorsFile f = SafetensorsFile.open(file);
        assertMessage(assertThrows(Lora4jException.class, () -> f.read("v")), "u.safetensors", "'v'");
        assertMessage(assertThrows(Lora4jException.class, () -> f.readInto("w", new float[3])),
                "u.safetensors", "'w'", "2 elements", "3");
        f.close();
        f.close();
        assertThrows(IllegalStateException.class, () -> f.read("w"));
    }
}
