package dev.lora4j.train;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of a run, in {@code OUT/checkpoints/}: numbered directories {@code checkpoint-N/} (the trainable
 * tensors, AdamW's moments, {@code trainer_state.json}, and the exported adapter or model) and a pointer file
 * {@code latest} naming the one to resume from. The protocol keeps a complete checkpoint at every instant:
 * <ol>
 *   <li>{@link #save}: write {@code .checkpoint-N.tmp/}, sync its files and itself, rename it to {@code checkpoint-N},
 *       sync {@code checkpoints/} — the new checkpoint is pending, {@code latest} still names the previous one;</li>
 *   <li>{@link #promote} once the update it holds gave a finite loss (the NaN guard): write {@code latest} beside
 *       itself, sync, rename over {@code latest}, sync; only then delete every other checkpoint.</li>
 * </ol>
 * A kill anywhere leaves {@code latest} naming a complete, verified checkpoint (or no {@code latest} before the first).
 */
public final class Checkpoints {
    public static final String DIR = "checkpoints";
    static final String LATEST = "latest";
    private static final Pattern NAME = Pattern.compile("checkpoint-([1-9][0-9]{0,9})");
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Test hook: called at each point of the protocol where a kill may strike (a test throws from it). */
    static volatile Consumer<String> crashPoint = point -> {};

    /** Where training stood after {@code step} optimizer steps, and the settings it ran with. */
    public record State(int step, long microBatches, int adamwSteps, RunSettings settings) {}

    private final Path dir;

    /** The checkpoints of the run whose output directory is {@code out}. */
    public Checkpoints(Path out) {
        this.dir = out.resolve(DIR);
    }

    /** {@code OUT/checkpoints}. */
    public Path dir() {
        return dir;
    }

    /** Writes {@code checkpoint-N} (pending: {@code latest} is not changed). {@code exporter} adds the usable result. */
    public Path save(State state, Map<String, Tensor> trainable, AdamW adamw, Consumer<Path> exporter) {
        String name = "checkpoint-" + state.step();
        Path target = dir.resolve(name), staging = dir.resolve("." + name + ".tmp");
        try {
            Files.createDirectories(dir);
            AtomicFiles.deleteRecursively(staging);
            Files.createDirectories(staging);
            SafetensorsWriter.write(staging.resolve("trainable.safetensors"), trainable, Map.of("format", "pt"));
            crashPoint.accept("staging " + name);
            Map<String, Tensor> moments = new LinkedHashMap<>();
            adamw.state().forEach((k, v) -> moments.put(k, Tensor.of(v, v.length)));
            SafetensorsWriter.write(staging.resolve("optimizer.safetensors"), moments, Map.of());
            ObjectNode s = JSON.createObjectNode();
            s.put("step", state.step()).put("micro_batches", state.microBatches()).put("adamw_steps", state.adamwSteps());
            s.set("settings", state.settings().toJson());
            AtomicFiles.writeString(staging.resolve("trainer_state.json"), s.toPrettyString() + "\n");
            exporter.accept(staging);
            AtomicFiles.fsyncTree(staging);
            crashPoint.accept("staged " + name);
            if (Files.exists(target)) {                     // left by a run killed before promoting it: redone identically
                AtomicFiles.deleteRecursively(target);
                AtomicFiles.fsyncDirectory(dir);
            }
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.fsyncDirectory(dir);
            crashPoint.accept("renamed " + name);
            return target;
        } catch (IOException e) {
            throw new Lora4jException(target + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
    }

    /** Makes {@code checkpoint-N} the one to resume from and deletes every other checkpoint. */
    public void promote(int step) {
        String name = "checkpoint-" + step;
        if (!Files.isDirectory(dir.resolve(name))) throw new IllegalStateException(dir.resolve(name) + " was not saved");
        AtomicFiles.writeString(dir.resolve(LATEST), name + "\n");
        crashPoint.accept("latest " + name);
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.equals(LATEST) || n.equals(name)) continue;
                AtomicFiles.deleteRecursively(p);
                crashPoint.accept("deleted " + n);
            }
            AtomicFiles.fsyncDirectory(dir);
        } catch (IOException e) {
            throw new Lora4jException(dir + ": cannot remove old checkpoints: " + e.getMessage(), e);
        }
    }

    /** Deletes a pending checkpoint that must never be resumed from (its update diverged). */
    public void discard(int step) {
        try {
            AtomicFiles.deleteRecursively(dir.resolve("checkpoint-" + step));
        } catch (IOException e) {
            throw new Lora4jException(dir.resolve("checkpoint-" + step) + ": cannot delete: " + e.getMessage(), e);
        }
    }

    /** The checkpoint {@code latest} names, if there is one; a corrupt pointer is an error naming the file. */
    public Optional<Path> latest() {
        Path pointer = dir.resolve(LATEST);
        if (!Files.exists(pointer)) return Optional.empty();
        String name;
        try {
            name = Files.readString(pointer, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new Lora4jException(pointer + ": cannot read: " + e.getMessage(), e);
        }
        if (!NAME.matcher(name).matches()) throw new Lora4jException(pointer + ": does not name a checkpoint (expected checkpoint-N)");
        Path checkpoint = dir.resolve(name);
        if (!Files.isRegularFile(checkpoint.resolve("trainer_state.json"))) {
            throw new Lora4jException(pointer + ": names " + name + ", which is missing or incomplete");
        }
        return Optional.of(checkpoint);
    }

    /** The step a checkpoint directory holds ({@code checkpoint-N} → N). */
    public static int stepOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new Lora4jException(checkpoint + ": is not a checkpoint directory (expected checkpoint-N)");
        return Integer.parseInt(m.group(1));
    }

    /**
     * Reads a checkpoint's trainer_state.json, validated strictly: the step must be the directory's and agree with the
     * micro-batch and optimizer counts; the settings must be strings.
     */
    public static State readState(Path checkpoint, int gradAccum) {
        Path stateFile = checkpoint.resolve("trainer_state.json");
        JsonNode s;
        try {
            s = JSON.readTree(Files.readAllBytes(stateFile));
        } catch (JacksonException e) {
            throw new Lora4jException(stateFile + ": is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new Lora4jException(stateFile + ": cannot read: " + e.getMessage(), e);
        }
        if (s == null || !s.isObject()) throw new Lora4jException(stateFile + ": expected a JSON object");
        int step = (int) integer(s, "step", stateFile, 1, Integer.MAX_VALUE);
        if (step != stepOf(checkpoint)) throw new Lora4jException(stateFile + ": 'step' is " + step + " in " + checkpoint.getFileName());
        long micro = integer(s, "micro_batches", stateFile, 0, Long.MAX_VALUE);
        if (micro != (long) step * gradAccum) {
            throw new Lora4jException(stateFile + ": 'micro_batches' is " + micro + ", expected " + step + " steps × " + gradAccum + " = " + (long) step * gradAccum);
        }
        int adamwSteps = (int) integer(s, "adamw_steps", stateFile, step, step);
        return new State(step, micro, adamwSteps, RunSettings.fromJson(s.path("settings"), stateFile.toString()));
    }

    /**
     * Reads a checkpoint's tensors back into the trainable tensors and the optimizer: they must be exactly the run's,
     * with their shapes, and finite.
     */
    public static void restore(Path checkpoint, State state, Map<String, Tensor> trainable, AdamW adamw) {
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve("trainable.safetensors"))) {
            for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
                if (!f.contains(e.getKey()) || !f.shape(e.getKey()).equals(e.getValue().shape())) {
                    throw new Lora4jException(f.path() + ": '" + e.getKey() + "' is missing or has another shape than " + e.getValue().shape());
                }
                f.readInto(e.getKey(), e.getValue().data());
                requireFinite(e.getValue().data(), f.path() + ": '" + e.getKey() + "'");
            }
            if (f.names().size() != trainable.size()) {
                throw new Lora4jException(f.path() + ": holds " + f.names().size() + " tensors, the run trains " + trainable.size());
            }
        }
        Map<String, float[]> moments = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve("optimizer.safetensors"))) {
            for (String n : f.names()) {
                float[] m = f.read(n).data();
                requireFinite(m, f.path() + ": '" + n + "'");
                moments.put(n, m);
            }
        }
        adamw.restore(state.adamwSteps(), moments);
    }

    private static long integer(JsonNode s, String field, Path file, long min, long max) {
        JsonNode n = s.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
            throw new Lora4jException(file + ": '" + field + "' is " + (n == null ? "missing" : n.toString())
                    + ", expected an integer from " + min + " to " + max);
        }
        return n.asLong();
    }

    private static void requireFinite(float[] a, String what) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) throw new Lora4jException(what + " holds " + a[i] + " at index " + i + "; the checkpoint is corrupt");
        }
    }
}
