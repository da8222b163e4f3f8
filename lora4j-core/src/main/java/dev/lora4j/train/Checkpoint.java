package dev.lora4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A resumable training state in {@code OUT/checkpoint/}: the trainable tensors ({@code trainable.safetensors}),
 * AdamW's moments ({@code optimizer.safetensors}), and {@code trainer_state.json} (step, data position, the
 * settings that must not change on resume). Written under a temporary name and swapped in, so a kill at
 * any moment leaves the previous complete checkpoint. The exporter adds the usable result (the adapter).
 */
public final class Checkpoint {
    public static final String DIR = "checkpoint";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where training stood: optimizer steps taken and micro-batches consumed. */
    public record State(int step, long microBatches, int adamwSteps, JsonNode settings) {}

    private Checkpoint() {}

    public static void save(Path out, State state, Map<String, Tensor> trainable, AdamW adamw, Consumer<Path> exporter) {
        Path target = out.resolve(DIR);
        Path tmp = AtomicFiles.stagingDirectory(target);
        SafetensorsWriter.write(tmp.resolve("trainable.safetensors"), trainable, Map.of("format", "pt"));
        Map<String, Tensor> moments = new LinkedHashMap<>();
        adamw.state().forEach((k, v) -> moments.put(k, Tensor.of(v, v.length)));
        SafetensorsWriter.write(tmp.resolve("optimizer.safetensors"), moments, Map.of());
        ObjectNode s = JSON.createObjectNode();
        s.put("step", state.step()).put("micro_batches", state.microBatches()).put("adamw_steps", state.adamwSteps());
        s.set("settings", state.settings());
        AtomicFiles.writeString(tmp.resolve("trainer_state.json"), s.toPrettyString());
        exporter.accept(tmp);
        AtomicFiles.commitDirectory(tmp, target);
    }

    /** The checkpoint in {@code out}, or the previous one if a swap was interrupted. */
    public static Path find(Path out) {
        Path dir = out.resolve(DIR);
        if (Files.isRegularFile(dir.resolve("trainer_state.json"))) return dir;
        Path old = AtomicFiles.previous(dir);
        if (Files.isRegularFile(old.resolve("trainer_state.json"))) return old;
        throw new Lora4jException(dir + ": no checkpoint to resume from (expected trainer_state.json)");
    }

    /** Reads a checkpoint back into the trainable tensors and the optimizer; returns the state. */
    public static State load(Path dir, Map<String, Tensor> trainable, AdamW adamw) {
        JsonNode s;
        try {
            s = JSON.readTree(dir.resolve("trainer_state.json").toFile());
        } catch (IOException e) {
            throw new Lora4jException(dir.resolve("trainer_state.json") + ": cannot read: " + e.getMessage(), e);
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("trainable.safetensors"))) {
            for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
                if (!f.contains(e.getKey()) || !f.shape(e.getKey()).equals(e.getValue().shape())) {
                    throw new Lora4jException(f.path() + ": '" + e.getKey() + "' is missing or has another shape than " + e.getValue().shape()
                            + " (was the checkpoint made with other settings?)");
                }
                f.readInto(e.getKey(), e.getValue().data());
            }
            if (f.names().size() != trainable.size()) {
                throw new Lora4jException(f.path() + ": holds " + f.names().size() + " tensors, the run trains " + trainable.size());
            }
        }
        Map<String, float[]> moments = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("optimizer.safetensors"))) {
            for (String n : f.names()) moments.put(n, f.read(n).data());
        }
        adamw.restore(s.path("adamw_steps").asInt(), moments);
        return new State(s.path("step").asInt(), s.path("micro_batches").asLong(), s.path("adamw_steps").asInt(), s.path("settings"));
    }
}
