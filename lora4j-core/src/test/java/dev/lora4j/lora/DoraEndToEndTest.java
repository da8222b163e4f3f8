package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tape;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.inference.TextGenerator;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Shape;
import dev.lora4j.testing.TestData;
import dev.lora4j.train.BaseDtype;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.LrSchedule;
import dev.lora4j.train.Method;
import dev.lora4j.train.TrainConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DoRA through the pipeline on the SOTU-pretrained tiny GPT-2: train (the magnitudes learn), save in PEFT's layout,
 * load, merge (merged = unmerged logits, a merged model saved and reloaded gives them too, greedy text the same), unmerge,
 * resume exactly, and a bfloat16 base.
 */
class DoraEndToEndTest {
    private static final int[] IDS = {464, 1110, 373, 1049, 290, 262, 4252, 286};
    private final Path base = TestData.dir("gpt2-tiny-sotu"), text = TestData.dir("moby-dick").resolve("train.txt");
    @TempDir
    Path tmp;

    private FineTune.Result train(Path out, int steps, boolean resume, BaseDtype dtype) {
        return FineTune.builder().model(base).data(text).output(out).baseDtype(dtype)
                .method(Method.lora(LoraConfig.peftDefaults().withR(4).withAlpha(8).withDora(true).withTargets(new ModuleSpec.AllLinear())))
                .config(TrainConfig.builder().lr(1e-2f).maxSteps(steps).seqLen(32).batchSize(4).saveEvery(2)
                        .schedule(LrSchedule.CONSTANT).build())
                .resume(resume).overrides(resume ? Set.of("max_steps") : Set.of()).build().run();
    }

    @Test
    void doraTrainsSavesLoadsMergesAndResumes() {
        Path run = train(tmp.resolve("run"), 4, false, BaseDtype.F32).output();
        CausalLm model = ModelLoader.load(base);
        LoraInjector.Report report = AdapterIO.load(run, model);
        assertEquals(8, report.targeted().size());
        LoraConfig config = LoraConfig.read(run.resolve(AdapterIO.CONFIG_FILE));
        assertTrue(config.useDora());
        try (SafetensorsFile f = SafetensorsFile.open(run.resolve(AdapterIO.WEIGHTS_FILE))) {
            assertEquals(3 * 8, f.names().size());
            assertEquals(new Shape(48), f.shape("base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector"));
            assertEquals(new Shape(16), f.shape("base_model.model.transformer.h.1.mlp.c_proj.lora_magnitude_vector"));
        }
        CausalLm fresh = ModelLoader.load(base);
        Map<String, LoraLinear> layers = LoraInjector.loraLayers(model);
        LoraInjector.apply(fresh, config, 0);
        LoraLinear trained = layers.get("h.0.mlp.c_fc"), initial = LoraInjector.loraLayers(fresh).get("h.0.mlp.c_fc");
        assertFalse(Arrays.equals(trained.magnitude().data(), initial.magnitude().data()), "the magnitudes trained");
        assertArrayEquals(initial.weightNorms(), initial.magnitude().data(), 0f, "m starts as the row norms of W + s·B·A (B = 0: of W)");

        float[] unmerged = model.forward(Tape.noGrad(), IDS, 1, IDS.length).data().clone();
        Merger.merge(model);
        float[] merged = model.forward(Tape.noGrad(), IDS, 1, IDS.length).data();
        assertArrayEquals(unmerged, merged, 1e-4f);
        ModelSaver.save(base, model, tmp.resolve("merged"));
        assertArrayEquals(merged, ModelLoader.load(tmp.resolve("merged")).forward(Tape.noGrad(), IDS, 1, IDS.length).data(), 0f);
        Merger.unmerge(model);
        assertArrayEquals(unmerged, model.forward(Tape.noGrad(), IDS, 1, IDS.length).data(), 1e-4f);

        try (TextGenerator withAdapter = TextGenerator.load(base, run); TextGenerator mergedModel = TextGenerator.load(tmp.resolve("merged"))) {
            assertEquals(mergedModel.generate("Call me Ishmael.", GenerationConfig.greedy(12)),
                    withAdapter.generate("Call me Ishmael.", GenerationConfig.greedy(12)));
        }

        Path resumed = tmp.resolve("resumed");
        train(resumed, 2, false, BaseDtype.F32);
        train(resumed, 4, true, BaseDtype.F32);
        try (SafetensorsFile a = SafetensorsFile.open(run.resolve(AdapterIO.WEIGHTS_FILE));
             SafetensorsFile b = SafetensorsFile.open(resumed.resolve(AdapterIO.WEIGHTS_FILE))) {
            for (String key : a.names()) assertArrayEquals(a.read(key).data(), b.read(key).data(), 0f, "resumed exactly: " + key);
        }

        Path bf16 = train(tmp.resolve("bf16"), 1, false, BaseDtype.BF16).output();
        assertTrue(LoraConfig.read(bf16.resolve(AdapterIO.CONFIG_FILE)).useDora());
    }
}
