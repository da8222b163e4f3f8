// Writer -> reader round trips, and the writer's bytes compared with files written by the Python
// safetensors library 0.8.0 (hex below, produced with safetensors.serialize / safetensors.numpy.save).
package dev.lora4j.io;

import dev.lora4j.tensor.BFloat16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    /** {"w.z": F64 [0.5], "w.b": F32 [[1,-2.5,3.25],[0,65504,1e-8]], "w.e": F32 [0,3], "w.bf": BF16, "w.a": F16}. */
    private static final String PYTHON_MIXED = "4001000000000000"
            + "7b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c22772e7a223a7b226474797065223a2246"
            + "3634222c227368617065223a5b315d2c22646174615f6f666673657473223a5b302c385d7d2c22772e62223a7b22647479"
            + "7065223a22463332222c227368617065223a5b322c335d2c22646174615f6f666673657473223a5b382c33325d7d2c2277"
            + "2e65223a7b226474797065223a22463332222c227368617065223a5b302c335d2c22646174615f6f666673657473223a5b"
            + "33322c33325d7d2c22772e6266223a7b226474797065223a2242463136222c227368617065223a5b335d2c22646174615f"
            + "6f666673657473223a5b33322c33385d7d2c22772e61223a7b226474797065223a22463136222c227368617065223a5b33"
            + "5d2c22646174615f6f666673657473223a5b33382c34345d7d7d"
            + "000000000000e03f0000803f000020c0000050400000000000e07f4777cc2b32803f20c0cd3d003c00c1662e";
    /** {"attn0": F32 arange(6) shape [1,1,2,3]}: the header needs 7 spaces of padding. */
    private static final String PYTHON_PADDED = "4800000000000000"
            + "7b226174746e30223a7b226474797065223a22463332222c227368617065223a5b312c312c322c335d2c22646174615f6f"
            + "666673657473223a5b302c32345d7d7d20202020202020"
            + "000000000000803f0000004000004040000080400000a040";
    private static final String PYTHON_EMPTY = "08000000000000007b7d202020202020";

    @TempDir
    Path dir;

    private static Tensor random(Random rng, int... dims) {
        Shape s = new Shape(dims);
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian() * 3;
        return new Tensor(s, v);
    }

    @Test
    void f32RoundTripIsExactForOddShapesEmptyAndScalar() {
        Random rng = new Random(42);
        Map<String, Tensor> tensors = Map.of(
                "h.0.attn.c_attn.weight", random(rng, 7, 13),
                "odd", random(rng, 3, 1, 5),
                "empty", random(rng, 0, 3),
                "scalar", random(rng),
                "big", random(rng, 300_001)); // more than the writer's 1 MiB buffer
        Path file = dir.resolve("model.safetensors");
        SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("big", "empty", "h.0.attn.c_attn.weight", "odd", "scalar"), f.names());
            assertEquals(Map.of("format", "pt"), f.metadata());
            for (var e : tensors.entrySet()) {
                Tensor back = f.read(e.getKey());
                assertEquals(e.getValue().shape(), back.shape(), e.getKey());
                assertArrayEquals(e.getValue().data(), back.data(), e.getKey());
                assertEquals(DType.F32, f.entry(e.getKey()).dtype());
            }
            assertEquals(new Shape(), f.shape("scalar"));
            assertEquals(0, f.entry("empty").byteLength());
        }
    }

    @Test
    void halfPrecisionRoundTripsMatchTheConversions() {
        Random rng = new Random(7);
        Tensor a = random(rng, 5, 33_333); // > the reader's 16k-element chunk
        Tensor b = random(rng, 3, 7);
        Tensor d = random(rng, 2, 2);
        Tensor e = random(rng, 0);
        Path file = dir.resolve("half.safetensors");
        SafetensorsWriter.write(file, Map.of("a", a, "b", b, "d", d, "e", e), Map.of(),
                Map.of("a", DType.BF16, "b", DType.F16, "d", DType.F64, "e", DType.BF16));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.BF16, f.entry("a").dtype());
            assertEquals(DType.F16, f.entry("b").dtype());
            assertEquals(DType.F64, f.entry("d").dtype());
            float[] ra = f.read("a").data();
            for (int i = 0; i < ra.length; i++) {
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat(a.data()[i])), ra[i], "a[" + i + "]");
            }
            float[] rb = new float[21];
            f.readInto("b", rb);
            for (int i = 0; i < rb.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(b.data()[i])), rb[i], "b[" + i + "]");
            }
            assertArrayEquals(d.data(), f.read("d").data());
            assertEquals(0, f.read("e").size());
            assertTrue(f.metadata().isEmpty());
        }
    }

    @Test
    void writerMatchesThePythonLibraryByteForByte() throws IOException {
        Map<String, Tensor> mixed = Map.of(
                "w.z", Tensor.of(new float[] {0.5f}, 1),
                "w.b", Tensor.of(new float[] {1f, -2.5f, 3.25f, 0f, 65504f, 1e-8f}, 2, 3),
                "w.e", Tensor.zeros(0, 3),
                "w.bf", Tensor.of(new float[] {1f, -2.5f, 0.1f}, 3),
                "w.a", Tensor.of(new float[] {1f, -2.5f, 0.1f}, 3));
        Path file = dir.resolve("mixed.safetensors");
        SafetensorsWriter.write(file, mixed, Map.of("format", "pt"),
                Map.of("w.z", DType.F64, "w.bf", DType.BF16, "w.a", DType.F16));
        assertEquals(PYTHON_MIXED, HexFormat.of().formatHex(Files.readAllBytes(file)));

        SafetensorsWriter.write(file, Map.of("attn0", Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)), Map.of());
        assertEquals(PYTHON_PADDED, HexFormat.of().formatHex(Files.readAllBytes(file)));

        SafetensorsWriter.write(file, Map.of(), Map.of());
        assertEquals(PYTHON_EMPTY, HexFormat.of().formatHex(Files.readAllBytes(file)));
    }

    @Test
    void readerReadsThePythonFile() throws IOException {
        Path file = RawSafetensors.writeHex(dir.resolve("py.safetensors"), PYTHON_MIXED);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("w.a", "w.b", "w.bf", "w.e", "w.z"), f.names());
            assertArrayEquals(new float[] {1f, -2.5f, 3.25f, 0f, 65504f, 1e-8f}, f.read("w.b").data());
            assertArrayEquals(new float[] {1f, -2.5f, Float.float16ToFloat((short) 0x2E66)}, f.read("w.a").data());
            assertArrayEquals(new float[] {1f, -2.5f, BFloat16.toFloat((short) 0x3DCD)}, f.read("w.bf").data());
            assertArrayEquals(new float[] {0.5f}, f.read("w.z").data());
            assertEquals(new Shape(0, 3), f.read("w.e").shape());
        }
    }

    @Test
    void overwritesAtomicallyAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("adapter_model.safetensors");
        SafetensorsWriter.write(file, Map.of("x", Tensor.of(new float[] {1, 2}, 2)), Map.of());
        SafetensorsWriter.write(file, Map.of("x", Tensor.of(new float[] {3, 4, 5}, 3)), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {3, 4, 5}, f.read("x").data());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void aRejectedWriteLeavesTheOldFileUntouched() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafetensorsWriter.write(file, Map.of("x", Tensor.of(new float[] {1, 2}, 2)), Map.of());
        byte[] before = Files.readAllBytes(file);
        Map<String, Tensor> t = Map.of("x", Tensor.of(new float[] {1}, 1));

        var e = assertThrows(Lora4jException.class,
                () -> SafetensorsWriter.write(file, t, Map.of(), Map.of("x", DType.I64)));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("'x'")
                && e.getMessage().contains("I64"), e.getMessage());
        e = assertThrows(Lora4jException.class,
                () -> SafetensorsWriter.write(file, t, Map.of(), Map.of("y", DType.F16)));
        assertTrue(e.getMessage().contains("'y'"), e.getMessage());
        e = assertThrows(Lora4jException.class,
                () -> SafetensorsWriter.write(file, Map.of("__metadata__", Tensor.zeros(1)), Map.of()));
        assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
        e = assertThrows(Lora4jException.class,
                () -> SafetensorsWriter.write(dir.resolve("missing/model.safetensors"), t, Map.of()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());

        assertArrayEquals(before, Files.readAllBytes(file));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void headerIsPaddedToAMultipleOfEight() throws IOException {
        for (String name : List.of("a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh")) {
            Path file = dir.resolve(name + ".safetensors");
            SafetensorsWriter.write(file, Map.of(name, Tensor.zeros(1)), Map.of());
            byte[] bytes = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, n % 8, name);
            assertEquals(8 + n + 4, bytes.length, name);
            assertFalse(new String(bytes, 8, (int) n, StandardCharsets.UTF_8).contains("__metadata__"));
        }
    }
}
