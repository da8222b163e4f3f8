package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.tensor.Bnb4bit;
import dev.lora4j.testing.TestData;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The block layouts the model fixtures do not reach (tools/golden/bnb4bit_golden.py's lone weights): block sizes 32,
 * 128 and 4096, float16 and bfloat16 dequantization, 300 blocks whose absmax values are double quantized in two nested
 * blocks of 256, the last ragged. Each weight dequantizes to bitsandbytes' values exactly, read whole or from any offset.
 */
class Bnb4bitBlocksTest {
    @ParameterizedTest
    @ValueSource(strings = {"bnb/blocks-fp4-nested", "bnb/blocks-nf4"})
    void dequantizesAsBitsandbytes(String fixture) {
        Path dir = TestData.dir(fixture);
        BnbQuantization config = BnbQuantization.of(HfConfig.read(dir.resolve("config.json")));
        try (WeightStore store = WeightStore.open(dir); SafetensorsFile golden = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            Bnb4bitWeights weights = Bnb4bitWeights.open(store, config);
            assertEquals(2, weights.names().size(), weights.names().toString());
            for (String key : weights.names()) {
                assertTrue(weights.storage(key) != null, key + " is quantized");
                float[] expected = golden.read("dequant." + key).data(), actual = new float[expected.length];
                weights.readInto(key, actual);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), key + "[" + i + "], bit for bit");
                }
                Bnb4bit s = weights.storage(key);
                assertTrue(s.bytes() < 4L * expected.length / 6, key + ": " + s.bytes() + " bytes held");
                int off = expected.length / 3 + 5, n = expected.length / 2;
                float[] part = new float[n];
                s.widen(off, part, 0, n);
                for (int i = 0; i < n; i++) assertEquals(expected[off + i], part[i], 0f, key + "[" + (off + i) + "]");
            }
        }
    }
}
