// PiSSA beyond the PyTorch goldens: the randomized init keeps the model and is a function of the seed, and the conversion
// is exact where PEFT's is not defined (DoRA's magnitude kept, rsLoRA with rank and alpha patterns), checked by loading the
// converted adapter on the original base and comparing logits with the model trained on the residual.
package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PissaTest {
    private static final Path GPT2 = TestData.dir("gpt2-golden"), QWEN2 = TestData.dir("qwen2-golden");
    @TempDir
    Path tmp;

    @Test
    void randomizedInitKeepsTheModelAndIsAFunctionOfTheSeed() {
        LoraConfig config = LoraConfig.defaults("gpt2").withR(4).withAlpha(8).withTargets(new ModuleSpec.Names(List.of("c_attn", "c_proj")))
                .withPissaNiter(2);
        float[] base = logits(ModelLoader.load(GPT2), GPT2);
        CausalLm a = ModelLoader.load(GPT2), b = ModelLoader.load(GPT2), c = ModelLoader.load(GPT2);
        LoraInjector.apply(a, config, 5);
        LoraInjector.apply(b, config, 5);
        LoraInjector.apply(c, config, 6);
        assertTrue(TestData.relativeError(logits(a, GPT2), base) < 1e-5, "W_res + s*B0*A0 = W");
        Map<String, Tensor> pa = a.module().namedParameters(), pb = b.module().namedParameters(), pc = c.module().namedParameters();
        boolean seedMatters = false;
        for (String name : pa.keySet()) {
            assertArrayEquals(pa.get(name).data(), pb.get(name).data(), name);
            if (name.endsWith("lora_A.weight")) seedMatters |= !Arrays.equals(pa.get(name).data(), pc.get(name).data());
        }
        assertTrue(seedMatters, "another seed draws another test matrix");
    }

    @Test
    void doraOnPissaConvertsWithItsMagnitude() {
        LoraConfig config = LoraConfig.defaults("qwen2").withR(2).withAlpha(4).withDora(true).withInit(LoraConfig.Init.PISSA);
        convertedMatchesTrained(QWEN2, config);
    }

    @Test
    void rsloraWithRankAndAlphaPatternsConvertsWithEveryScaleKept() {
        LoraConfig config = LoraConfig.defaults("qwen2").withR(2).withAlpha(4).withRslora(true).withInit(LoraConfig.Init.PISSA)
                .withTargets(new ModuleSpec.Names(List.of("q_proj", "v_proj", "o_proj")))
                .withRankPattern(Map.of("q_proj", 3)).withAlphaPattern(Map.of("v_proj", 6.0));
        LoraConfig converted = PissaConversion.config(config);
        assertEquals(Map.of("q_proj", 6), converted.rankPattern());
        assertEquals(6 * Math.sqrt(2), converted.alphaPattern().get("v_proj"), 1e-12);
        for (String m : List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.o_proj")) {
            assertEquals(config.scaleFor(m), converted.scaleFor(m), 1e-12, m);
            assertEquals(2 * config.rankFor(m), converted.rankFor(m), m);
        }
        convertedMatchesTrained(QWEN2, config);
    }

    @Test
    void gpt2ConvertsToo() {
        convertedMatchesTrained(GPT2, LoraConfig.defaults("gpt2").withR(3).withAlpha(5).withInit(LoraConfig.Init.PISSA));
    }

    @Test
    void aServedAdapterSavedUnconvertedIsRefused() {
        Path dir = TestData.dir("gpt2-golden-pissa");
        Lora4jException e = assertThrows(Lora4jException.class, () -> AdapterWeights.read(dir, ModelLoader.load(GPT2)));
        assertTrue(e.getMessage().contains(dir.resolve(AdapterIO.CONFIG_FILE).toString()) && e.getMessage().contains("\"pissa\""), e.getMessage());
    }

    /** Injects {@code config}, moves every adapter tensor as training would, writes the adapter and loads it on the original base. */
    private void convertedMatchesTrained(Path base, LoraConfig config) {
        CausalLm model = ModelLoader.load(base);
        float[] original = logits(ModelLoader.load(base), base);
        LoraInjector.apply(model, config, 1);
        assertTrue(TestData.relativeError(logits(model, base), original) < 1e-5, "the model starts unchanged");
        Random rnd = new Random(2);
        for (Tensor p : AdapterIO.tensors(model, config).values()) {
            float[] d = p.data();
            for (int i = 0; i < d.length; i++) d[i] += (float) (0.05 * rnd.nextGaussian() * (p.shape().rank() == 1 ? d[i] : 1));
        }
        float[] trained = logits(model, base);
        assertTrue(TestData.relativeError(trained, original) > 1e-3, "the update changes the model");
        Path out = tmp.resolve("converted-" + base.getFileName());
        AdapterIO.write(out, model, config);
        LoraConfig written = LoraConfig.read(out.resolve(AdapterIO.CONFIG_FILE));
        assertFalse(written.initLoraWeights().isPissa());
        assertEquals(config.useDora(), written.useDora());
        CausalLm fresh = ModelLoader.load(base);
        AdapterIO.load(out, fresh);
        double rel = TestData.relativeError(logits(fresh, base), trained);
        assertTrue(rel < 1e-5, "converted on the original base vs trained on the residual: " + rel);
    }

    private static float[] logits(CausalLm model, Path base) {
        JsonNode batch = TestData.json(base.resolve("golden.json"));
        int B = batch.get("input_ids").size(), T = batch.get("input_ids").get(0).size();
        int[] ids = new int[B * T];
        for (int b = 0; b < B; b++) System.arraycopy(TestData.ints(batch.get("input_ids").get(b)), 0, ids, b * T, T);
        return model.forward(Tape.noGrad(), ids, B, T).data().clone();
    }
}
