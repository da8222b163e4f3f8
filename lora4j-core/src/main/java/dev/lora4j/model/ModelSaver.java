package dev.lora4j.model;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.DType;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.WeightStore;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Writes a model's current weights as a Hugging Face directory in the layout of the directory it was
 * loaded from: the same files (single or shards, index copied), keys and dtypes, the tensors the model
 * ignores (mask buffers) copied as they were, and every other file (config, tokenizer) copied, except the
 * base's own training log ({@code metrics.jsonl}). The directory appears complete or not at all.
 */
public final class ModelSaver {
    /** A training run's log, which a base directory made by {@code train --full} holds; not part of the model. */
    private static final String TRAINING_LOG = "metrics.jsonl";

    private ModelSaver() {}

    /** Writes the model as a new directory {@code outDir} that appears complete or not at all. */
    public static void save(Path baseDir, CausalLm model, Path outDir) {
        Path staging = AtomicFiles.stagingDirectory(outDir);
        writeInto(baseDir, model, staging);
        AtomicFiles.commitDirectory(staging, outDir);
    }

    /** Writes the model's files into an existing directory, each file atomically (other files there are kept). */
    public static void writeInto(Path baseDir, CausalLm model, Path dir) {
        UnaryOperator<String> toModelKey = ModelLoader.keyMapper(model.modelType());
        Map<String, Tensor> params = model.module().namedParameters();
        try (WeightStore store = WeightStore.open(baseDir)) {
            Map<Path, List<String>> byFile = new TreeMap<>();
            for (String key : store.names()) byFile.computeIfAbsent(store.fileOf(key), f -> new java.util.ArrayList<>()).add(key);
            for (Map.Entry<Path, List<String>> file : byFile.entrySet()) {
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                Map<String, DType> dtypes = new LinkedHashMap<>();
                for (String key : file.getValue()) {
                    String name = toModelKey.apply(key);
                    Tensor t = name == null ? store.read(key) : parameter(params, name, key);
                    tensors.put(key, t);
                    dtypes.put(key, store.entry(key).dtype());
                }
                SafetensorsWriter.write(dir.resolve(file.getKey().getFileName()), tensors, Map.of("format", "pt"), dtypes);
            }
            try (Stream<Path> files = Files.list(baseDir)) {
                for (Path f : files.toList()) {
                    String n = f.getFileName().toString();
                    if (Files.isRegularFile(f) && !n.endsWith(".safetensors") && !n.startsWith(".") && !n.equals(TRAINING_LOG)) {
                        Files.copy(f, dir.resolve(n), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new Lora4jException(dir + ": cannot write the model: " + e.getMessage(), e);
        }
    }

    /** The parameter for a checkpoint key, looking through a LoRA wrapper ({@code ...c_attn.base_layer.weight}). */
    private static Tensor parameter(Map<String, Tensor> params, String name, String key) {
        Tensor t = params.get(name);
        if (t == null) {
            int dot = name.lastIndexOf('.');
            t = params.get(name.substring(0, dot) + ".base_layer" + name.substring(dot));
        }
        if (t == null) throw new Lora4jException("no parameter of the model holds checkpoint tensor '" + key + "'");
        return t;
    }
}
