// Fuzzes the GGUF reader: GgufFile.open (magic, version, counts, key/values, tensor infos, alignment, layout), then
// every metadata accessor and every tensor read. Any outcome but success or a Lora4jException fails.
package dev.lora4j.io.gguf;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.Lora4jException;
import dev.lora4j.testing.Fuzz;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

class GgufFuzzTest {
    private static final String[] TOKENS = {"GGUF", "general.alignment", "general.architecture", "tokenizer.ggml.tokens",
            "llama.block_count", ".weight"};

    @TempDir
    static Path dir;

    /** A small file of every value type and several tensor types (written by lora4j), and gguf-py's quants.gguf. */
    static Stream<Named<byte[]>> seeds() throws IOException {
        Path small = dir.resolve("seed.gguf");
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string("llama"));
        kv.put("general.alignment", GgufValue.uint32(64));
        kv.put("u8", new GgufValue(GgufValueType.UINT8, null, 200L));
        kv.put("i64", new GgufValue(GgufValueType.INT64, null, -5L));
        kv.put("f64", new GgufValue(GgufValueType.FLOAT64, null, 0.25));
        kv.put("flag", GgufValue.bool(false));
        kv.put("scores", GgufValue.array(GgufValueType.FLOAT32, List.of(0.5f, -1f)));
        kv.put("tokens", GgufValue.array(GgufValueType.STRING, List.of("<s>", "▁a")));
        float[] w = new float[64];
        for (int i = 0; i < w.length; i++) w[i] = i - 30.5f;
        GgufWriter.write(small, kv, List.of(
                new GgufWriter.Entry("f32", new long[] {8, 8}, GgmlType.F32, () -> GgufWriter.encode(w, GgmlType.F32)),
                new GgufWriter.Entry("q8", new long[] {32, 2}, GgmlType.Q8_0, () -> GgufWriter.encode(w, GgmlType.Q8_0)),
                new GgufWriter.Entry("bf16", new long[] {64}, GgmlType.BF16, () -> GgufWriter.encode(w, GgmlType.BF16))));
        Map<String, byte[]> valid = new LinkedHashMap<>();
        valid.put("every value type", Files.readAllBytes(small));
        valid.put("gguf-py quants", Files.readAllBytes(TestData.dir("gguf").resolve("quants.gguf")));
        return Fuzz.seeds(valid, Fuzz.bytes(TOKENS), 20260113L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Path file = Files.write(dir.resolve("fuzz.gguf"), input);
        Fuzz.parsesOrRejects(() -> {
            try (GgufFile f = GgufFile.open(file)) {
                for (String key : f.metadata().keySet()) f.value(key).describe();
                for (String name : f.tensors().keySet()) readEverything(f, name);
            }
        });
    }

    private static void readEverything(GgufFile f, String name) {
        try {
            f.shape(name);
            f.read(name).widen(0, new float[1], 0, 1);
        } catch (Lora4jException expected) {
            // this tensor cannot be read (type, size), the others may
        }
    }
}
