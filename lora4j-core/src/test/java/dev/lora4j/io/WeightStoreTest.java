// Model directories: a single model.safetensors, shards listed in model.safetensors.index.json,
// and the ways an index and its shards can disagree.
package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightStoreTest {
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    @TempDir
    Path dir;

    private static void assertMessage(Lora4jException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }

    private void writeShards() {
        SafetensorsWriter.write(dir.resolve(SHARD1), Map.of(
                "model.embed_tokens.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2),
                "model.layers.0.self_attn.q_proj.weight", Tensor.of(new float[] {0.5f, -1}, 1, 2)), Map.of());
        SafetensorsWriter.write(dir.resolve(SHARD2), Map.of(
                "model.norm.weight", Tensor.of(new float[] {1, 1}, 2),
                "lm_head.weight", Tensor.of(new float[] {-2, 0.25f, 7, 8, 9, 10}, 3, 2)), Map.of(),
                Map.of("lm_head.weight", DType.BF16));
    }

    private void writeIndex(String weightMapEntries) throws IOException {
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE),
                "{\"metadata\": {\"total_size\": 56}, \"weight_map\": {" + weightMapEntries + "}}");
    }

    private static final String FULL_MAP = "\"model.embed_tokens.weight\": \"" + SHARD1 + "\","
            + "\"model.layers.0.self_attn.q_proj.weight\": \"" + SHARD1 + "\","
            + "\"model.norm.weight\": \"" + SHARD2 + "\","
            + "\"lm_head.weight\": \"" + SHARD2 + "\"";

    @Test
    void singleFile() {
        SafetensorsWriter.write(dir.resolve(WeightStore.SINGLE_FILE),
                Map.of("wte.weight", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), "ln_f.bias", Tensor.zeros(2)), Map.of());
        try (WeightStore w = WeightStore.open(dir)) {
            assertEquals(dir, w.dir());
            assertEquals(List.of("ln_f.bias", "wte.weight"), w.names());
            assertEquals(new Shape(2, 2), w.shape("wte.weight"));
            assertArrayEquals(new float[] {1, 2, 3, 4}, w.read("wte.weight").data());
            assertEquals(dir.resolve(WeightStore.SINGLE_FILE), w.fileOf("ln_f.bias"));
        }
    }

    @Test
    void shardedRoundTrip() throws IOException {
        writeShards();
        writeIndex(FULL_MAP);
        try (WeightStore w = WeightStore.open(dir)) {
            assertEquals(List.of("lm_head.weight", "model.embed_tokens.weight",
                    "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"), w.names());
            assertTrue(w.contains("model.norm.weight"));
            assertFalse(w.contains("model.layers.1.self_attn.q_proj.weight"));
            assertEquals(dir.resolve(SHARD1), w.fileOf("model.embed_tokens.weight"));
            assertEquals(dir.resolve(SHARD2), w.fileOf("lm_head.weight"));
            assertEquals(new Shape(3, 2), w.shape("lm_head.weight"));
            assertEquals(DType.BF16, w.entry("lm_head.weight").dtype());
            assertArrayEquals(new float[] {-2, 0.25f, 7, 8, 9, 10}, w.read("lm_head.weight").data());
            float[] q = new float[2];
            w.readInto("model.layers.0.self_attn.q_proj.weight", q);
            assertArrayEquals(new float[] {0.5f, -1}, q);
            var e = assertThrows(Lora4jException.class, () -> w.read("model.layers.9.mlp.up_proj.weight"));
            assertMessage(e, dir.toString(), "'model.layers.9.mlp.up_proj.weight'");
        }
    }

    @Test
    void singleFileWinsOverAnIndex() throws IOException {
        writeShards();
        writeIndex(FULL_MAP);
        SafetensorsWriter.write(dir.resolve(WeightStore.SINGLE_FILE), Map.of("only", Tensor.zeros(1)), Map.of());
        try (WeightStore w = WeightStore.open(dir)) {
            assertEquals(List.of("only"), w.names());
        }
    }

    @Test
    void indexPointingToAMissingShard() throws IOException {
        writeShards();
        Files.delete(dir.resolve(SHARD2));
        writeIndex(FULL_MAP);
        var e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir));
        assertMessage(e, WeightStore.INDEX_FILE, SHARD2, "not found", "'model.norm.weight'", "1 more");
    }

    @Test
    void indexNamingATensorAbsentFromItsShard() throws IOException {
        writeShards();
        writeIndex(FULL_MAP + ", \"model.layers.0.mlp.up_proj.weight\": \"" + SHARD2 + "\"");
        var e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir));
        assertMessage(e, WeightStore.INDEX_FILE, "'model.layers.0.mlp.up_proj.weight'", SHARD2, "no such tensor");
    }

    @Test
    void shardHoldingATensorTheIndexDoesNotList() throws IOException {
        writeShards();
        writeIndex(FULL_MAP.replace(",\"model.norm.weight\": \"" + SHARD2 + "\"", ""));
        var e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir));
        assertMessage(e, SHARD2, "'model.norm.weight'", "does not list");
    }

    @Test
    void malformedIndex() throws IOException {
        writeShards();
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE), "{\"metadata\": {}}");
        assertMessage(assertThrows(Lora4jException.class, () -> WeightStore.open(dir)),
                WeightStore.INDEX_FILE, "weight_map", "nothing");
        writeIndex("\"w\": 3");
        assertMessage(assertThrows(Lora4jException.class, () -> WeightStore.open(dir)),
                WeightStore.INDEX_FILE, "'w'", "an integer 3");
        writeIndex("\"w\": \"../" + SHARD1 + "\"");
        assertMessage(assertThrows(Lora4jException.class, () -> WeightStore.open(dir)),
                WeightStore.INDEX_FILE, "'w'", "same directory");
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE), "{\"weight_map\": {\"w\": ");
        assertMessage(assertThrows(Lora4jException.class, () -> WeightStore.open(dir)),
                WeightStore.INDEX_FILE, "not valid JSON", "line 1");
    }

    @Test
    void directoryWithNoWeights() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        var e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir));
        assertMessage(e, dir.toString(), WeightStore.SINGLE_FILE, WeightStore.INDEX_FILE);
        Files.write(dir.resolve("pytorch_model.bin"), new byte[1]);
        e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir));
        assertMessage(e, "pytorch_model.bin", "safetensors only");
        e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir.resolve("absent")));
        assertMessage(e, "absent", "not found");
    }

    @Test
    void corruptShardIsReportedByItsPath() throws IOException {
        writeShards();
        Files.write(dir.resolve(SHARD1), new byte[3]);
        writeIndex(FULL_MAP);
        var e = assertThrows(Lora4jException.class, () -> WeightStore.open(dir));
        assertMessage(e, SHARD1, "too short");
    }
}
