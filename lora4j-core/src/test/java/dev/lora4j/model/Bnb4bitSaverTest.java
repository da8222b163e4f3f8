package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.DType;
import dev.lora4j.io.WeightStore;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Bnb4bit;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sharded bitsandbytes 4-bit checkpoint (bnb/llama-nf4 cut in two, the quant states in their weights' shards, as
 * transformers shards them) loads, and ModelSaver writes it unquantized in the same shards: the weights in bfloat16
 * (the quant states' dtype, which holds the dequantized values exactly), an index and a config without the quant
 * states, so the written model computes the same logits bit for bit.
 */
class Bnb4bitSaverTest {
    @TempDir
    Path tmp;

    @Test
    void aShardedCheckpointLoadsAndIsWrittenUnquantized() throws IOException {
        Path src = TestData.dir("bnb/llama-nf4");
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Map<String, RawCheckpoint> all = RawCheckpoint.read(src.resolve("model.safetensors"));
        Map<String, RawCheckpoint> first = new TreeMap<>(), second = new TreeMap<>();
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode weightMap = index.putObject("weight_map");
        for (Map.Entry<String, RawCheckpoint> e : all.entrySet()) {
            boolean one = e.getKey().startsWith("model.embed_tokens.") || e.getKey().startsWith("model.layers.0.");
            (one ? first : second).put(e.getKey(), e.getValue());
            weightMap.put(e.getKey(), one ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        RawCheckpoint.write(dir.resolve("model-00001-of-00002.safetensors"), first);
        RawCheckpoint.write(dir.resolve("model-00002-of-00002.safetensors"), second);
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE), index.toPrettyString());
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));

        int[] ids = TestData.ints(TestData.json(src.resolve("golden.json")).get("input_ids").get(0));
        CausalLm model = ModelLoader.load(dir);
        assertTrue(model.module().namedParameters().get("model.layers.1.self_attn.o_proj.weight").storage() instanceof Bnb4bit);
        float[] logits = model.forward(Tape.noGrad(), ids, 1, ids.length).data().clone();

        Path out = tmp.resolve("plain");
        ModelSaver.save(dir, model, out);
        assertFalse(Files.readString(out.resolve("config.json")).contains("quantization_config"));
        JsonNode written = json.readTree(out.resolve(WeightStore.INDEX_FILE).toFile()).get("weight_map");
        assertEquals(all.keySet().stream().filter(k -> !k.contains(".weight.")).count(), written.size());
        try (WeightStore store = WeightStore.open(out)) {
            assertEquals(DType.BF16, store.entry("model.layers.0.self_attn.q_proj.weight").dtype());
            assertTrue(store.fileOf("model.layers.0.self_attn.q_proj.weight").endsWith("model-00001-of-00002.safetensors"));
        }
        CausalLm plain = ModelLoader.load(out);
        assertArrayEquals(logits, plain.forward(Tape.noGrad(), ids, 1, ids.length).data());
    }
}
