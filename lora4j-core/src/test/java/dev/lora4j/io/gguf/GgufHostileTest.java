package dev.lora4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.WeightStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt GGUF headers end in one {@link Lora4jException} naming the file and the key or tensor, before anything is
 * allocated from a count in the file; a valid file written by lora4j reads back exactly.
 */
class GgufHostileTest {
    private static final int F32 = 0, Q8_0 = 8;

    @TempDir
    Path dir;

    private String error(byte[] file) throws IOException {
        Path p = Files.write(dir.resolve("bad.gguf"), file);
        Lora4jException e = assertThrows(Lora4jException.class, () -> {
            try (GgufFile f = GgufFile.open(p)) {
                for (String t : f.tensors().keySet()) f.read(t);
            }
        });
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        return e.getMessage();
    }

    private static void has(String message, String part) {
        assertTrue(message.contains(part), message);
    }

    /** One tensor "w" after one key/value, then {@code dataBytes} of data. */
    private static byte[] oneTensor(long[] ne, int type, long offset, int dataBytes) {
        return RawGguf.header(3, 1, 1).kvString("general.architecture", "llama").tensor("w", ne, type, offset).align(32).zeros(dataBytes).bytes();
    }

    @Test
    void validFileWrittenByLora4jReadsBack() throws IOException {
        Path p = dir.resolve("ok.gguf");
        float[] w = {1, -2, 3.5f, 0, 5, 6, 7, 8};
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string("llama"));
        kv.put("n", GgufValue.uint32(7));
        kv.put("x", GgufValue.float32(0.5f));
        kv.put("b", GgufValue.bool(true));
        kv.put("tokens", GgufValue.array(GgufValueType.STRING, List.of("a", "é", "<0x0A>")));
        GgufWriter.write(p, kv, List.of(new GgufWriter.Entry("w", new long[] {4, 2}, GgmlType.F32, () -> GgufWriter.encode(w, GgmlType.F32)),
                new GgufWriter.Entry("h", new long[] {3}, GgmlType.F16, () -> GgufWriter.encode(new float[] {1, 2, 3}, GgmlType.F16))));
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals("llama", f.string("general.architecture"));
            assertEquals(7, f.integer("n", 0, 10));
            assertEquals(0.5, f.real("x"));
            assertTrue(f.bool("b"));
            assertEquals(List.of("a", "é", "<0x0A>"), f.array("tokens", GgufValueType.STRING));
            assertEquals(List.of(2, 4), Arrays.stream(f.shape("w").dims()).boxed().toList());
            assertTrue(Arrays.equals(w, ((WeightStorage.F32) f.read("w")).values()));
            assertEquals(0, f.tensor("h").offset() % 32);
            assertTrue(assertThrows(Lora4jException.class, () -> f.string("n")).getMessage().endsWith("metadata key 'n' is UINT32 7, expected a STRING"));
            assertTrue(assertThrows(Lora4jException.class, () -> f.integer("n", 0, 5)).getMessage().endsWith("metadata key 'n' is 7, expected 0 to 5"));
        }
        assertTrue(GgufFile.isGguf(p));
        assertTrue(!GgufFile.isGguf(dir));
    }

    @Test
    void corruptHeadersAreNamed() throws IOException {
        has(error("GGML....".getBytes()), "not a GGUF file");
        has(error(new byte[2]), "not a GGUF file");
        has(error(RawGguf.header(1, 0, 0).bytes()), "GGUF version 1 is not supported");
        has(error(RawGguf.header(3, Long.MAX_VALUE, 0).bytes()), "the tensor count is 9223372036854775807, more than");
        has(error(RawGguf.header(3, 0, -1).bytes()), "the metadata count is 18446744073709551615");
        has(error(RawGguf.header(3, 0, 1).str("kkkkk").bytes()), "truncated: the type of metadata key 'kkkkk' needs 4 bytes");
        has(error(RawGguf.header(3, 0, 1).u64(1L << 40).zeros(16).bytes()), "metadata key #0 has length 1099511627776, past the end");
        has(error(RawGguf.header(3, 0, 1).bytesString(new byte[] {(byte) 0xC3, 0x28}).u32(4).u32(1).bytes()), "metadata key #0 is not valid UTF-8");
        has(error(RawGguf.header(3, 0, 1).str("k").u32(13).bytes()), "metadata key 'k' has value type 13, which GGUF does not define");
        has(error(RawGguf.header(3, 0, 1).str("k").u32(9).u32(9).u64(0).bytes()), "metadata key 'k' is an array of arrays");
        has(error(RawGguf.header(3, 0, 1).str("k").u32(9).u32(4).u64(1L << 40).zeros(8).bytes()), "the length of metadata key 'k' is 1099511627776");
        has(error(RawGguf.header(3, 0, 1).str("k").u32(7).u8(2).bytes()), "metadata key 'k' is a BOOL holding 2");
        has(error(RawGguf.header(3, 0, 2).kvU32("k", 1).kvU32("k", 2).bytes()), "metadata key 'k' appears twice");
        has(error(RawGguf.header(3, 0, 1).kvU32("general.alignment", 24).bytes()), "general.alignment is 24, expected a power of two");
        has(error(RawGguf.header(3, 0, 1).kvString("general.alignment", "32").bytes()), "general.alignment is STRING, expected a UINT32");
    }

    @Test
    void corruptTensorInfosAreNamed() throws IOException {
        has(error(oneTensor(new long[] {4, 2}, F32, 0, 16)), "tensor 'w' (F32 [2, 4], 32 bytes at data offset 0) extends past the end of the file");
        has(error(oneTensor(new long[] {4, 2}, F32, 4, 64)), "tensor 'w' has offset 4, not a multiple of the alignment 32");
        has(error(oneTensor(new long[] {4, 2}, 99, 0, 32)), "tensor 'w' has type 99, which is no ggml type");
        has(error(oneTensor(new long[] {16, 2}, Q8_0, 0, 64)), "tensor 'w' has rows of 16 values, not a multiple of Q8_0's block of 32");
        has(error(oneTensor(new long[] {4, 0}, F32, 0, 32)), "tensor 'w' has dim 1 = 0, expected a positive size");
        has(error(oneTensor(new long[] {1L << 40, 1L << 40}, F32, 0, 32)), "tensor 'w': its size overflows");
        has(error(oneTensor(new long[] {1, 1, 1, 1, 1}, F32, 0, 32)), "tensor 'w' has 5 dimensions, expected 1 to 4");
        has(error(oneTensor(new long[] {256, 1}, 11, 0, 110)), "tensor 'w' has type Q3_K, which lora4j does not read");
        byte[] twoTensors = RawGguf.header(3, 2, 0).tensor("a", new long[] {16}, F32, 0).tensor("b", new long[] {8}, F32, 32).align(32).zeros(96).bytes();
        has(error(twoTensors), "tensor 'b' (bytes 32 to 64 of the data) overlaps tensor 'a'");
        byte[] sameName = RawGguf.header(3, 2, 0).tensor("a", new long[] {8}, F32, 0).tensor("a", new long[] {8}, F32, 32).align(32).zeros(64).bytes();
        has(error(sameName), "tensor 'a' appears twice");
        byte[] nan = RawGguf.header(3, 1, 0).tensor("w", new long[] {4}, F32, 0).align(32).u32(0).u32(Float.floatToIntBits(Float.NaN)).zeros(8).bytes();
        has(error(nan), "tensor 'w' (F32) holds a NaN or infinite value at flat index 1: weights must be finite");
        byte[] infScale = RawGguf.header(3, 1, 0).tensor("w", new long[] {64}, Q8_0, 0).align(32).zeros(34).raw(new byte[] {0, 0x7C}).zeros(32).bytes();
        has(error(infScale), "tensor 'w' (Q8_0) holds a NaN or infinite scale in block 1 (values 32 to 63)");
    }
}
