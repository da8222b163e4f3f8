// Hostile PEFT adapters on the load side (AdapterIO.load): non-finite weights must be refused naming the tensor, a
// rank no layer can use before anything is allocated, and an error about many keys must stay a few lines long.
package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.testing.TestData;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterLoadTest {
    private final Path tiny = TestData.dir("gpt2-tiny");
    @TempDir
    Path tmp;

    /** An adapter on c_attn with r 2 whose lora_B of layer 1 holds {@code value} at index 3. */
    private Path adapterWith(float value) {
        CausalLm model = ModelLoader.load(tiny);
        LoraConfig config = LoraConfig.defaults("gpt2").withR(2);
        LoraInjector.apply(model, config, 1);
        LoraInjector.loraLayers(model).get("h.1.attn.c_attn").loraB().data()[3] = value;
        Path dir = tmp.resolve("adapter-" + value);
        AdapterIO.save(dir, model, config);
        return dir;
    }

    @Test
    void nonFiniteAdapterWeightsAreRefused() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            Path dir = adapterWith(bad);
            String msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(tiny))).getMessage();
            assertTrue(msg.contains("adapter_model.safetensors: tensor 'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight' holds "
                    + bad + " at flat index 3"), msg);
        }
    }

    @Test
    void aRankAboveTheLayerIsRefusedBeforeAnythingIsAllocated() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("huge-rank"));
        Files.writeString(dir.resolve(AdapterIO.CONFIG_FILE), "{\"peft_type\": \"LORA\", \"r\": 100000000, \"target_modules\": [\"c_attn\"]}");
        Files.copy(adapterWith(0f).resolve(AdapterIO.WEIGHTS_FILE), dir.resolve(AdapterIO.WEIGHTS_FILE));   // 100000000 × 16 floats = 6.4 GB
        String msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(tiny))).getMessage();
        assertTrue(msg.contains("field 'r' is 100000000, but transformer.h.0.attn.c_attn (16 → 48) allows a rank of at most min(in, out) = 16")
                && msg.contains("and 1 more"), msg);

        LoraConfig perModule = LoraConfig.defaults("gpt2").withR(4).withRankPattern(Map.of("h.1.attn.c_attn", 17));
        msg = assertThrows(Lora4jException.class, () -> LoraInjector.apply(ModelLoader.load(tiny), perModule, 0)).getMessage();
        assertTrue(msg.contains("field 'rank_pattern['h.1.attn.c_attn']' is 17, but transformer.h.1.attn.c_attn"), msg);
        LoraInjector.apply(ModelLoader.load(tiny), LoraConfig.defaults("gpt2").withR(16), 0);   // the bound itself is fine
    }

    @Test
    void thousandsOfUnexpectedKeysGiveAShortError() throws IOException {
        Map<String, Tensor> junk = new TreeMap<>();
        for (int i = 0; i < 3_000; i++) junk.put("base_model.model.junk." + i + ".weight", Tensor.zeros(1));   // 100,000 made a 4.4 MB line
        Path dir = Files.createDirectories(tmp.resolve("junk"));
        Files.writeString(dir.resolve(AdapterIO.CONFIG_FILE), LoraConfig.defaults("gpt2").withR(2).toJson());
        SafetensorsWriter.write(dir.resolve(AdapterIO.WEIGHTS_FILE), junk, Map.of());
        String msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(tiny))).getMessage();
        assertTrue(msg.length() < 5_000, "a short message, not " + msg.length() + " characters");
        assertTrue(msg.contains("tensors that map to no adapter parameter (3000): ") && msg.contains("... 2980 more")
                && msg.contains("missing (4): "), msg);
    }
}
