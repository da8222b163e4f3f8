// Hostile PEFT adapters on the load side (AdapterIO.load): non-finite weights must be refused naming the tensor,
// before anything runs on them.
package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.model.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.testing.TestData;
import java.nio.file.Path;
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
}
