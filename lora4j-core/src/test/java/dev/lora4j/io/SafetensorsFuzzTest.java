// Fuzzes the safetensors reader: SafetensorsFile.open (the 8-byte length, the JSON header, offsets)
// and then every accessor of every tensor. Any outcome but success or a Lora4jException fails.
package dev.lora4j.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.Lora4jException;
import dev.lora4j.testing.Fuzz;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

class SafetensorsFuzzTest {
    private static final String[] KEYS = {"dtype", "shape", "data_offsets", "__metadata__", "\"F32\"", "\"F16\"",
            "\"BF16\"", "\"F64\"", "\"I64\"", "\"BOOL\"", "\"F4\"", "\"F8_E4M3\"", "\"C64\""};

    @TempDir
    static Path dir;

    /** Two real PEFT adapters and a small file with every kind of entry (dtypes, a scalar, an empty tensor, metadata). */
    static Stream<Named<byte[]>> seeds() throws IOException {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        for (String adapter : new String[] {"bert-golden-lora", "gpt2-golden-lora-c_attn"}) {
            valid.put(adapter, Files.readAllBytes(TestData.dir(adapter).resolve("adapter_model.safetensors")));
        }
        String header = """
                {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},\
                "b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},"c":{"dtype":"BF16","shape":[],"data_offsets":[22,24]},\
                "d":{"dtype":"F64","shape":[1,1],"data_offsets":[24,32]},"e":{"dtype":"I64","shape":[1],"data_offsets":[32,40]},\
                "f":{"dtype":"F32","shape":[0,5],"data_offsets":[40,40]},"g":{"dtype":"U8","shape":[2],"data_offsets":[40,42]},\
                "h":{"dtype":"F4","shape":[2],"data_offsets":[42,43]}}""";
        byte[] data = new byte[43];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 37);
        valid.put("every kind of entry", Fuzz.concat(Fuzz.le64(header.length()), header.getBytes(), data));
        return Fuzz.seeds(valid, Fuzz.oneOf(Fuzz.safetensors(Fuzz.json(KEYS)), Fuzz.bytes(KEYS)), 20260101L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Path file = Files.write(dir.resolve("fuzz.safetensors"), input);
        Fuzz.parsesOrRejects(() -> {
            try (SafetensorsFile st = SafetensorsFile.open(file)) {
                st.metadata();
                for (String name : st.names()) readEverything(st, name);
            }
        });
    }

    private static void readEverything(SafetensorsFile st, String name) {
        try {
            st.entry(name).numel();
            st.shape(name);
            st.read(name);
        } catch (Lora4jException expected) {
            // this tensor cannot be read (dtype, size), the others may
        }
    }
}
