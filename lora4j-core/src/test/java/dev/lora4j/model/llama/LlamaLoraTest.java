// LoRA on the Llama family with PEFT's names: the default targets (q_proj, v_proj), "all-linear" (every
// projection but lm_head), adapter keys under base_model.model.model.layers.N..., a PEFT directory written and
// read back, and merging into the base then saving it as a Hugging Face directory.
package dev.lora4j.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tape;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.Merger;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.testing.TestData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaLoraTest {
    private static final int[] IDS = {3, 17, 250, 9, 101, 44, 7, 0, 12, 99, 5, 63};
    @TempDir
    Path tmp;

    private static float[] logits(CausalLm model) {
        return model.forward(Tape.noGrad(), IDS, 2, 6).data();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-golden", "qwen2-golden", "mistral-golden"})
    void peftDefaultTargetsAreQProjAndVProjOfEveryLayer(String fixture) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        LoraInjector.Report r = LoraInjector.apply(model, LoraConfig.defaults(model.modelType()), 1);
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), r.targeted());
        assertTrue(AdapterIO.tensors(model, LoraConfig.defaults(model.modelType())).containsKey("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"),
                AdapterIO.tensors(model, LoraConfig.defaults(model.modelType())).keySet().toString());
        assertEquals(8, AdapterIO.tensors(model, LoraConfig.defaults(model.modelType())).size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-golden", "qwen2-golden"})
    void allLinearCoversEveryProjectionButTheOutputHead(String fixture) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        LoraInjector.Report r = LoraInjector.apply(model, LoraConfig.defaults(model.modelType()).withTargets(new ModuleSpec.AllLinear()), 1);
        List<String> expected = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            for (String p : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                expected.add("model.layers." + l + "." + p);
            }
        }
        assertEquals(expected, r.targeted());
        assertEquals(fixture.equals("llama-golden") ? "lm_head" : null, model.outputHead());
    }

    @Test
    void adapterRoundTripsThroughAPeftDirectoryAndMergesIntoAPlainModel() {
        Path base = TestData.dir("llama-golden");
        CausalLm model = ModelLoader.load(base);
        LoraConfig config = LoraConfig.defaults("llama").withTargets(new ModuleSpec.AllLinear()).withInit(LoraConfig.Init.RANDOM);
        LoraInjector.apply(model, config, 42);
        float[] adapted = logits(model);
        assertTrue(TestData.relativeError(adapted, logits(ModelLoader.load(base))) > 1e-3, "the adapter changes the logits");
        Path adapter = tmp.resolve("adapter");
        AdapterIO.save(adapter, model, config);

        CausalLm reloaded = ModelLoader.load(base);
        assertEquals(14, AdapterIO.load(adapter, reloaded).targeted().size());
        assertArrayEquals(adapted, logits(reloaded), "same logits after save and load");

        Merger.merge(reloaded);
        assertTrue(TestData.relativeError(logits(reloaded), adapted) <= 1e-5, "merged logits");
        Path merged = tmp.resolve("merged");
        ModelSaver.save(base, reloaded, merged);
        assertTrue(TestData.relativeError(logits(ModelLoader.load(merged)), adapted) <= 1e-5, "the saved merged model loads as a plain one");
    }
}
