package dev.lora4j.model;

import dev.lora4j.nn.CausalLm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Loader;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.nn.StateDict;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading GPT-2 directories as real files come: with the {@code transformer.} prefix, sharded through
 * model.safetensors.index.json, and failing strictly (every missing, unexpected and mis-shaped key at
 * once; unknown model_type; missing config field).
 */
class ModelLoaderTest {
    private final Path golden = TestData.dir("gpt2-golden");
    @TempDir
    Path tmp;

    @Test
    void prefixedAndShardedCheckpointsGiveTheSameLogits() throws IOException {
        float[] reference = logits(ModelLoader.load(golden));
        Map<String, Tensor> tensors = readAll(golden.resolve("model.safetensors"));

        Path prefixed = copyConfig(tmp.resolve("prefixed"));
        Map<String, Tensor> withPrefix = new TreeMap<>();
        tensors.forEach((k, v) -> withPrefix.put("transformer." + k, v));
        SafetensorsWriter.write(prefixed.resolve("model.safetensors"), withPrefix, Map.of("format", "pt"));
        assertArrayEquals(reference, logits(ModelLoader.load(prefixed)), "transformer. prefix");

        Path sharded = copyConfig(tmp.resolve("sharded"));
        Map<String, Tensor> a = new TreeMap<>(), b = new TreeMap<>();
        StringBuilder map = new StringBuilder();
        tensors.forEach((k, v) -> {
            boolean first = k.startsWith("h.0.") || k.startsWith("w");
            (first ? a : b).put(k, v);
            map.append(map.isEmpty() ? "" : ",").append('"').append(k).append("\":\"model-0000").append(first ? 1 : 2).append("-of-00002.safetensors\"");
        });
        SafetensorsWriter.write(sharded.resolve("model-00001-of-00002.safetensors"), a, Map.of());
        SafetensorsWriter.write(sharded.resolve("model-00002-of-00002.safetensors"), b, Map.of());
        Files.writeString(sharded.resolve("model.safetensors.index.json"), "{\"metadata\":{},\"weight_map\":{" + map + "}}");
        assertArrayEquals(reference, logits(ModelLoader.load(sharded)), "sharded");
    }

    @Test
    void strictLoadingListsEveryProblemAtOnce() throws IOException {
        Map<String, Tensor> tensors = readAll(golden.resolve("model.safetensors"));
        tensors.remove("h.1.mlp.c_fc.bias");
        tensors.remove("ln_f.weight");
        tensors.put("h.0.attn.c_proj.weight", Tensor.zeros(32, 31));
        tensors.put("h.0.attn.q_proj.weight", Tensor.zeros(2, 2));
        Path dir = copyConfig(tmp.resolve("broken"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        String msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
        for (String s : List.of("missing (2)", "h.1.mlp.c_fc.bias", "ln_f.weight", "unexpected (1)", "h.0.attn.q_proj.weight",
                "wrong shape (1)", "h.0.attn.c_proj.weight: checkpoint [32, 31], model expects [32, 32]")) {
            assertTrue(msg.contains(s), "message should contain '" + s + "':\n" + msg);
        }
    }

    @Test
    void configProblemsNameTheFileAndField() throws IOException {
        Path dir = copyConfig(tmp.resolve("cfg"));
        Path config = dir.resolve("config.json");
        String original = Files.readString(config);
        Files.writeString(config, original.replace("\"gpt2\"", "\"gpt5\""));
        String msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
        assertTrue(msg.contains("config.json") && msg.contains("unknown model_type 'gpt5'"), msg);

        Files.writeString(config, original.replaceAll("\"n_head\": *4,", ""));
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
        assertTrue(msg.contains("config.json") && msg.contains("n_head"), msg);

        msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(tmp.resolve("nowhere"))).getMessage();
        assertTrue(msg.contains("nowhere") && msg.contains("not found"), msg);
        Files.delete(config);
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
        assertTrue(msg.contains("config.json"), msg);
    }

    @Test
    void nonFiniteBaseWeightsAreRefusedWhileLoading() throws IOException {
        Map<String, Tensor> tensors = readAll(golden.resolve("model.safetensors"));
        tensors.get("h.1.attn.c_attn.weight").data()[5] = Float.NaN;
        Path dir = copyConfig(tmp.resolve("nan"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        String msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir)).getMessage();
        assertTrue(msg.contains("model.safetensors: tensor 'h.1.attn.c_attn.weight' holds NaN at flat index 5"), msg);

        Gpt2Model model = new Gpt2Model(Gpt2Config.from(HfConfig.read(golden.resolve("config.json"))));
        msg = assertThrows(Lora4jException.class, () -> StateDict.load(model, StateDict.Source.of(tensors, "graph.onnx"),
                Gpt2Loader::modelKey, name -> false, name -> null)).getMessage();
        assertTrue(msg.contains("graph.onnx: tensor 'h.1.attn.c_attn.weight' holds NaN at flat index 5"), msg);
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRejected() {
        CausalLm model = ModelLoader.load(golden);
        String msg = assertThrows(Lora4jException.class, () -> model.forward(Tape.noGrad(), new int[] {5, 1000}, 1, 2)).getMessage();
        assertTrue(msg.contains("1000") && msg.contains("vocabulary"), msg);
    }

    private static float[] logits(CausalLm model) {
        int[] ids = {1, 5, 999, 42, 7, 300};
        return model.forward(Tape.noGrad(), ids, 2, 3).data();
    }

    private Path copyConfig(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.copy(golden.resolve("config.json"), dir.resolve("config.json"));
        return dir;
    }

    private static Map<String, Tensor> readAll(Path file) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) out.put(n, f.read(n));
        }
        assertEquals(30, out.size());
        return out;
    }
}
