// Fuzzes the bitsandbytes 4-bit reader: Bnb4bitWeights.open (quant states, their JSON, every tensor's dtype and size)
// and then every weight read whole, on a mutated checkpoint under each fixture's quantization_config. Any outcome but
// success or a Lora4jException fails.
package dev.lora4j.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
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

class Bnb4bitFuzzTest {
    private static final List<String> FIXTURES = List.of("bnb/blocks-nf4", "bnb/blocks-fp4-nested");
    private static final String[] KEYS = {"dtype", "shape", "data_offsets", "\"U8\"", "\"F32\"", "\"BF16\"", "absmax", "quant_map",
            "nested_", ".quant_state.bitsandbytes__nf4", "\"blocksize\": ", "\"nested_offset\": ", "\"quant_type\": \"fp4\"",
            "\"nested_blocksize\": ", "[0]", "1e39", "NaN"};

    @TempDir
    static Path dir;

    static Stream<Named<byte[]>> seeds() throws IOException {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        for (String f : FIXTURES) valid.put(f, Files.readAllBytes(TestData.dir(f).resolve("model.safetensors")));
        return Fuzz.seeds(valid, Fuzz.oneOf(Fuzz.safetensors(Fuzz.json(KEYS)), Fuzz.bytes(KEYS)), 20260104L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Files.write(dir.resolve(WeightStore.SINGLE_FILE), input);
        for (String fixture : FIXTURES) {
            BnbQuantization config = BnbQuantization.of(HfConfig.read(TestData.dir(fixture).resolve("config.json")));
            Fuzz.parsesOrRejects(() -> {
                try (WeightStore store = WeightStore.open(dir)) {
                    Bnb4bitWeights weights = Bnb4bitWeights.open(store, config);
                    for (String name : weights.names()) weights.readInto(name, new float[weights.shape(name).size()]);
                }
            });
        }
    }
}
