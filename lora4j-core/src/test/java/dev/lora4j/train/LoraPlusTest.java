package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA+ as PEFT's create_loraplus_optimizer groups the parameters, against tools/golden/loraplus_golden.py (torch's
 * AdamW over those groups: 10 losses on the golden GPT-2 with a DoRA adapter, lora_B and the magnitudes at 16 × lr);
 * which group biases and norm weights go to; and a resume that checks the ratio.
 */
class LoraPlusTest {
    @TempDir
    Path tmp;

    @Test
    void tenStepsMatchTorchsAdamWOverPeftsGroups() throws IOException {
        JsonNode golden = TestData.json(TestData.dir("gpt2-golden-loraplus").resolve("golden.json"));
        Path base = TestData.dir("gpt2-golden");
        JsonNode batch = TestData.json(base.resolve("golden.json"));
        int B = batch.get("input_ids").size(), T = batch.get("input_ids").get(0).size();
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int b = 0; b < B; b++) {
            int[] row = TestData.ints(batch.get("input_ids").get(b)), labels = TestData.ints(batch.get("labels").get(b));
            for (int t = 0; t < T; t++) {
                ids[b * T + t] = row[t];
                targets[b * T + t] = t + 1 < T ? labels[t + 1] : CrossEntropy.IGNORE_INDEX;
            }
        }
        CausalLm model = ModelLoader.load(base);
        AdapterIO.load(TestData.dir("gpt2-golden-dora"), model);
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        model.module().namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) trainable.put(n, p);
        });
        JsonNode opt = golden.get("adamw");
        float ratio = (float) opt.get("loraplus_lr_ratio").asDouble(), wd = (float) opt.get("weight_decay").asDouble();
        Map<String, AdamW.Group> groups = LoraPlus.groups(model.module(), trainable, ratio, wd);
        String prefix = AdapterIO.KEY_PREFIX + model.peftPrefix();
        Map<String, AdamW.Group> expected = new LinkedHashMap<>();
        golden.get("groups").get("groupA").forEach(k -> expected.put(k.asText(), new AdamW.Group(1f, wd)));
        golden.get("groups").get("groupB").forEach(k -> expected.put(k.asText(), new AdamW.Group(ratio, wd)));
        golden.get("groups").get("groupB_no_decay").forEach(k -> expected.put(k.asText(), new AdamW.Group(ratio, 0f)));
        Map<String, AdamW.Group> actual = new LinkedHashMap<>();
        groups.forEach((n, g) -> actual.put(prefix + n, g));
        assertEquals(expected, actual);

        AdamW adamw = new AdamW(trainable, groups, (float) opt.get("betas").get(0).asDouble(), (float) opt.get("betas").get(1).asDouble(),
                (float) opt.get("eps").asDouble());
        float[] losses = new float[opt.get("steps").asInt()], expectedLosses = new float[losses.length];
        for (int s = 0; s < losses.length; s++) {
            adamw.zeroGrad();
            Tape tape = Tape.create();
            Tensor loss = CrossEntropy.apply(tape, model.forward(tape, ids, B, T), targets);
            tape.backward(loss);
            adamw.step((float) opt.get("lr").asDouble());
            losses[s] = loss.data()[0];
            expectedLosses[s] = (float) opt.get("losses").get(s).asDouble();
        }
        double rel = TestData.relativeError(losses, expectedLosses);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "golden-report-loraplus.txt"), List.of(String.format("loraplus adamw losses relative error %.3e", rel)));
        assertTrue(rel <= 1e-4, "relative error " + rel);
    }

    /** lora_B and 1-D tensors fast; biases and norm weights without decay (transformers' decay_parameters); the rest slow with decay. */
    @Test
    void biasesAndNormWeightsGoToTheFastGroupWithoutDecay() {
        CausalLm model = ModelLoader.load(TestData.dir("gpt2-golden"));
        LoraInjector.apply(model, LoraConfig.defaults("gpt2").withBias(LoraConfig.Bias.ALL).withModulesToSave(List.of("ln_f")), 1);
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        model.module().namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) trainable.put(n, p);
        });
        Map<String, AdamW.Group> g = LoraPlus.groups(model.module(), trainable, 16f, 0.1f);
        assertEquals(new AdamW.Group(1f, 0.1f), g.get("h.0.attn.c_attn.lora_A.weight"));
        assertEquals(new AdamW.Group(16f, 0.1f), g.get("h.0.attn.c_attn.lora_B.weight"));
        assertEquals(new AdamW.Group(16f, 0f), g.get("h.0.attn.c_attn.base_layer.bias"));
        assertEquals(new AdamW.Group(16f, 0f), g.get("h.1.mlp.c_fc.bias"));
        assertEquals(new AdamW.Group(16f, 0f), g.get("ln_f.weight"), "a LayerNorm weight: 1-D, and not a decay parameter");
        assertEquals(trainable.keySet(), g.keySet());
    }

    @Test
    void aResumeChecksTheRatioAndOnlyLoraHasIt() {
        Path base = TestData.dir("gpt2-tiny-sotu"), text = TestData.dir("moby-dick").resolve("train.txt"), out = tmp.resolve("run");
        TrainConfig plus = TrainConfig.builder().lr(1e-3f).maxSteps(2).seqLen(32).batchSize(4).loraplusLrRatio(16).build();
        FineTune.builder().model(base).data(text).output(out).config(plus).build().run();
        FineTune withoutRatio = FineTune.builder().model(base).data(text).output(out).resume(true).overrides(Set.of("max_steps"))
                .config(plus.toBuilder().maxSteps(3).loraplusLrRatio(0).build()).build();
        String refused = assertThrows(Lora4jException.class, withoutRatio::run).getMessage();
        assertTrue(refused.contains("loraplus_lr_ratio: (not set) (checkpoint: 16.0)"), refused);
        FineTune.builder().model(base).data(text).output(out).resume(true).overrides(Set.of("max_steps"))
                .config(plus.toBuilder().maxSteps(3).build()).build().run();
        assertThrows(Lora4jException.class, () -> FineTune.builder().model(base).data(text).output(tmp.resolve("full"))
                .method(Method.full()).config(plus).build());
    }
}
