package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Injection, PEFT adapter files (exact keys and shapes), merge and unmerge on the small golden GPT-2.
 */
class LoraEndToEndTest {
    private final Path base = TestData.dir("gpt2-golden");
    @TempDir
    Path tmp;

    private static final int[] IDS = {1, 5, 999, 42, 7, 300, 8, 9};

    private static float[] logits(CausalLm m) {
        return m.forward(Tape.noGrad(), IDS, 2, 4).data();
    }

    /** Makes B non-zero so the adapter changes the output. */
    private static void randomizeB(CausalLm m) {
        SplittableRandom rnd = new SplittableRandom(3);
        LoraInjector.loraLayers(m).values().forEach(l -> {
            float[] b = l.loraB().data();
            for (int i = 0; i < b.length; i++) b[i] = (float) (rnd.nextGaussian() * 0.05);
        });
    }

    @Test
    void injectionFreezesTheBaseAndReportsCounts() {
        CausalLm m = ModelLoader.load(base);
        float[] before = logits(m);
        LoraInjector.Report r = LoraInjector.apply(m, LoraConfig.defaults("gpt2").withR(4).withAlpha(8), 1);
        assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"), r.targeted());
        long lora = 2L * (4 * 32 + 96 * 4);
        assertEquals(lora, r.trainable());
        assertEquals(m.module().parameterCount(), r.total());
        assertTrue(r.summary().startsWith("trainable params: 1,024 || all params: "), r.summary());
        assertArrayEquals(before, logits(m), "B = 0: the adapter starts as a no-op");
        m.module().namedParameters().forEach((n, p) -> assertEquals(n.contains("lora_"), p.requiresGrad(), n));

        Tape tape = Tape.create();
        Tensor loss = CrossEntropy.apply(tape, m.forward(tape, IDS, 2, 4), new int[] {5, 999, 42, -100, 300, 8, 9, -100});
        tape.backward(loss);
        m.module().namedParameters().forEach((n, p) -> {
            if (!n.contains("lora_")) assertNull(p.gradOrNull(), "frozen " + n + " got a gradient buffer");
        });
        assertTrue(LoraInjector.loraLayers(m).get("h.0.attn.c_attn").loraB().gradOrNull() != null);
    }

    @Test
    void noMatchAndUnknownTargetsAreErrorsListingTheModules() {
        CausalLm m = ModelLoader.load(base);
        String msg = assertThrows(Lora4jException.class,
                () -> LoraInjector.apply(m, LoraConfig.defaults("gpt2").withTargets(new ModuleSpec.Names(List.of("q_proj"))), 1)).getMessage();
        assertTrue(msg.contains("q_proj") && msg.contains("transformer.h.0.mlp.c_fc"), msg);
        msg = assertThrows(Lora4jException.class,
                () -> LoraInjector.apply(m, LoraConfig.defaults("gpt2").withTargets(new ModuleSpec.Names(List.of("c_attn", "v_proj"))), 1)).getMessage();
        assertTrue(msg.contains("'v_proj'"), msg);
    }

    @Test
    void adapterFilesHavePeftKeysAndShapes() throws IOException {
        pinKeys(LoraConfig.defaults("gpt2").withR(4), Map.of(
                "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", "[4, 32]",
                "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", "[96, 4]",
                "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight", "[4, 32]",
                "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight", "[96, 4]"));
        Map<String, String> all = new TreeMap<>();
        for (int l = 0; l < 2; l++) {
            String p = "base_model.model.transformer.h." + l + ".";
            all.put(p + "attn.c_attn.lora_A.weight", "[2, 32]");
            all.put(p + "attn.c_attn.lora_B.weight", "[96, 2]");
            all.put(p + "attn.c_proj.lora_A.weight", "[2, 32]");
            all.put(p + "attn.c_proj.lora_B.weight", "[32, 2]");
            all.put(p + "mlp.c_fc.lora_A.weight", "[2, 32]");
            all.put(p + "mlp.c_fc.lora_B.weight", "[128, 2]");
            all.put(p + "mlp.c_proj.lora_A.weight", "[2, 128]");
            all.put(p + "mlp.c_proj.lora_B.weight", "[32, 2]");
        }
        pinKeys(LoraConfig.defaults("gpt2").withR(2).withTargets(new ModuleSpec.AllLinear()), all);
    }

    private void pinKeys(LoraConfig cfg, Map<String, String> expected) throws IOException {
        CausalLm m = ModelLoader.load(base);
        LoraInjector.apply(m, cfg, 1);
        randomizeB(m);
        Path dir = tmp.resolve("adapter-" + cfg.r());
        AdapterIO.save(dir, m, cfg);
        Map<String, String> keys = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(AdapterIO.WEIGHTS_FILE))) {
            for (String n : f.names()) keys.put(n, f.shape(n).toString());
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
        assertEquals(new TreeMap<>(expected), keys);
        String json = Files.readString(dir.resolve(AdapterIO.CONFIG_FILE));
        assertTrue(json.contains("\"peft_type\" : \"LORA\"") || json.contains("\"peft_type\": \"LORA\""), json);

        CausalLm again = ModelLoader.load(base);
        AdapterIO.load(dir, again);
        assertArrayEquals(logits(m), logits(again), "a saved and reloaded adapter computes the same logits");
    }

    @Test
    void loadingRejectsTensorsThatLandNowhereOrMisfit() throws IOException {
        CausalLm m = ModelLoader.load(base);
        LoraConfig cfg = LoraConfig.defaults("gpt2").withR(4);
        LoraInjector.apply(m, cfg, 1);
        Path dir = tmp.resolve("a");
        AdapterIO.save(dir, m, cfg);
        Map<String, Tensor> t = new TreeMap<>(AdapterIO.tensors(m, cfg));
        t.put("base_model.model.transformer.h.0.attn.c_proj.lora_A.weight", Tensor.zeros(4, 32));
        SafetensorsWriter.write(dir.resolve(AdapterIO.WEIGHTS_FILE), t, Map.of());
        String msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(base))).getMessage();
        assertTrue(msg.contains("adapter_model.safetensors") && msg.contains("h.0.attn.c_proj.lora_A.weight"), msg);

        t.remove("base_model.model.transformer.h.0.attn.c_proj.lora_A.weight");
        t.put("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight", Tensor.zeros(96, 5));
        SafetensorsWriter.write(dir.resolve(AdapterIO.WEIGHTS_FILE), t, Map.of());
        msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(base))).getMessage();
        assertTrue(msg.contains("wrong shape") && msg.contains("[96, 5]"), msg);

        t.remove("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight");
        SafetensorsWriter.write(dir.resolve(AdapterIO.WEIGHTS_FILE), t, Map.of());
        msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(base))).getMessage();
        assertTrue(msg.contains("missing") && msg.contains("h.1.attn.c_attn.lora_B.weight"), msg);

        Files.writeString(dir.resolve(AdapterIO.CONFIG_FILE), Files.readString(dir.resolve(AdapterIO.CONFIG_FILE)).replace("\"c_attn\"", "\"q_proj\""));
        msg = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(base))).getMessage();
        assertTrue(msg.contains("q_proj"), msg);
    }

    @Test
    void mergedLogitsEqualUnmergedAndUnmergeRestoresTheBase() throws IOException {
        CausalLm m = ModelLoader.load(base);
        Map<String, float[]> original = new TreeMap<>();
        m.module().namedParameters().forEach((n, p) -> original.put(n, p.data().clone()));
        LoraConfig cfg = LoraConfig.defaults("gpt2").withR(2).withTargets(new ModuleSpec.AllLinear());
        LoraInjector.apply(m, cfg, 1);
        randomizeB(m);
        float[] unmerged = logits(m);
        assertFalse(TestData.relativeError(unmerged, logitsOfBase()) < 1e-3, "the adapter must change the output");
        assertEquals(8, Merger.merge(m).size());
        assertTrue(TestData.relativeError(logits(m), unmerged) <= 1e-5);

        Path out = tmp.resolve("merged");
        ModelSaver.save(base, m, out);
        assertTrue(Files.exists(out.resolve("config.json")));
        CausalLm plain = ModelLoader.load(out);
        assertTrue(TestData.relativeError(logits(plain), unmerged) <= 1e-5, "the merged directory loads as a plain model");
        try (SafetensorsFile a = SafetensorsFile.open(base.resolve("model.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(a.names(), b.names(), "same keys as the base, buffers included");
            for (String n : a.names()) assertEquals(a.entry(n).dtype(), b.entry(n).dtype(), n);
        }

        Merger.unmerge(m);
        m.module().namedParameters().forEach((n, p) -> {
            if (n.contains("lora_")) return;
            String key = n.replace(".base_layer", "");
            assertTrue(TestData.relativeError(p.data(), original.get(key)) <= 1e-6, "unmerge restores " + key);
        });
    }

    @Test
    void mergeRefusesNonFiniteResults() {
        CausalLm m = ModelLoader.load(base);
        LoraInjector.apply(m, LoraConfig.defaults("gpt2").withR(2), 1);
        LoraLinear l = LoraInjector.loraLayers(m).get("h.1.attn.c_attn");
        l.loraB().data()[7] = Float.POSITIVE_INFINITY;
        float[] w = LoraInjector.loraLayers(m).get("h.0.attn.c_attn").base().weight().data().clone();
        String msg = assertThrows(Lora4jException.class, () -> Merger.merge(m)).getMessage();
        assertTrue(msg.contains("transformer.h.1.attn.c_attn") && msg.contains("non-finite"), msg);
        assertArrayEquals(w, LoraInjector.loraLayers(m).get("h.0.attn.c_attn").base().weight().data(), "nothing merged");
    }

    private float[] logitsOfBase() {
        return logits(ModelLoader.load(base));
    }
}
