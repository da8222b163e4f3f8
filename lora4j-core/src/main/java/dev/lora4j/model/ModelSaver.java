package dev.lora4j.model;

import dev.lora4j.nn.CausalLm;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.Bnb4bitWeights;
import dev.lora4j.io.BnbQuantization;
import dev.lora4j.io.DType;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.Json;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.WeightStore;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Writes a model's current weights as a Hugging Face directory in the layout of the directory it was
 * loaded from: the same files (single or shards, index copied), keys and dtypes, the tensors the model
 * ignores (mask buffers) copied as they were, and every other file (config, tokenizer) copied, except the
 * base's own training log ({@code metrics.jsonl}), hidden files and links that lead out of the model. The directory
 * appears complete or not at all. A bitsandbytes 4-bit base is written unquantized: each quantized weight in its quant
 * state's dtype (the model's dtype before quantization), no quant-state tensors, and config.json (and the shard index)
 * without them and without {@code quantization_config}.
 */
public final class ModelSaver {
    /** A training run's log, which a base directory made by {@code train --full} holds; not part of the model. */
    private static final String TRAINING_LOG = "metrics.jsonl";

    private ModelSaver() {}

    /**
     * Writes the model as a new directory {@code outDir} that appears complete or not at all; {@code outDir} must not
     * exist or be empty, and must not be or lie inside the base (see {@link Output}).
     */
    public static void save(Path baseDir, CausalLm model, Path outDir) {
        try (Output out = Output.directory(outDir, Output.Kind.MODEL, Output.Mode.NEW, List.of(baseDir))) {
            save(baseDir, model, out);
        }
    }

    /** Writes the model into a claimed output, which appears complete or not at all; returns the files not copied. */
    public static List<String> save(Path baseDir, CausalLm model, Output out) {
        Path staging = out.stage();
        List<String> skipped = writeInto(baseDir, model, staging);
        out.commit(staging);
        return skipped;
    }

    /**
     * Writes the model's files into an existing directory, each file atomically (other files there are kept). Returns
     * the base's files that were not copied: symbolic links that lead outside the model directory (and, for a Hugging
     * Face cache snapshot, outside its repository's {@code blobs/}), so a link planted in a model directory cannot
     * carry another file of the user's into an output that may be shared.
     */
    public static List<String> writeInto(Path baseDir, CausalLm model, Path dir) {
        ModelFamily family = ModelFamily.of(model.modelType(), baseDir.toString());
        Map<String, Tensor> params = model.module().namedParameters();
        try (WeightStore store = WeightStore.open(baseDir)) {
            HfConfig config = HfConfig.read(baseDir.resolve("config.json"));
            BnbQuantization bnb = BnbQuantization.of(config);
            Bnb4bitWeights quantized = bnb == null ? null : Bnb4bitWeights.open(store, bnb);
            List<String> keys = quantized == null ? store.names() : quantized.names();
            Map<Path, List<String>> byFile = new TreeMap<>();
            for (String key : keys) byFile.computeIfAbsent(store.fileOf(key), f -> new ArrayList<>()).add(key);
            for (Map.Entry<Path, List<String>> file : byFile.entrySet()) {
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                Map<String, DType> dtypes = new LinkedHashMap<>();
                for (String key : file.getValue()) {
                    String name = family.parameterName(model.modelType(), key);
                    Tensor t = name == null ? store.read(key) : parameter(params, name, key);
                    tensors.put(key, t.isFloat32() ? t : widened(t));
                    dtypes.put(key, quantized == null ? store.entry(key).dtype() : quantized.dtype(key));
                }
                SafetensorsWriter.write(dir.resolve(file.getKey().getFileName()), tensors, Map.of("format", "pt"), dtypes);
            }
            if (quantized != null) writeUnquantized(config, baseDir, Set.copyOf(keys), dir);
            List<String> skipped = new ArrayList<>();
            List<Path> roots = linkRoots(baseDir);
            try (Stream<Path> files = Files.list(baseDir)) {
                for (Path f : files.sorted().toList()) {
                    String n = f.getFileName().toString();
                    if (!Files.isRegularFile(f) || n.endsWith(".safetensors") || n.startsWith(".") || n.equals(TRAINING_LOG)) continue;
                    if (bnb != null && (n.equals("config.json") || n.equals(WeightStore.INDEX_FILE))) continue;   // written unquantized
                    if (Files.isSymbolicLink(f) && roots.stream().noneMatch(r -> realPath(f).startsWith(r))) {
                        skipped.add(n);
                        continue;
                    }
                    Files.copy(f, dir.resolve(n), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return skipped;
        } catch (IOException e) {
            throw new Lora4jException(dir + ": cannot write the model: " + e.getMessage(), e);
        }
    }

    /** A float32 copy of a weight held in a compact storage (a 4-bit base weight no adapter was merged into). */
    private static Tensor widened(Tensor t) {
        float[] v = new float[t.size()];
        t.storage().widen(0, v, 0, v.length);
        return new Tensor(t.shape(), v);
    }

    /** config.json without quantization_config, and the shard index (if any) without the quant-state tensors. */
    private static void writeUnquantized(HfConfig config, Path baseDir, Set<String> kept, Path dir) throws IOException {
        ObjectNode plain = config.raw().deepCopy();
        plain.remove("quantization_config");
        Files.writeString(dir.resolve("config.json"), plain.toPrettyString() + "\n");
        Path index = baseDir.resolve(WeightStore.INDEX_FILE);
        if (!Files.isRegularFile(index, LinkOption.NOFOLLOW_LINKS)) return;
        ObjectNode json = (ObjectNode) Json.readObject(index, "index");
        ObjectNode weightMap = (ObjectNode) json.get("weight_map");
        weightMap.properties().removeIf(e -> !kept.contains(e.getKey()));
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE), json.toPrettyString() + "\n");
    }

    /** Where a base's symbolic links may lead: the directory, and a Hugging Face cache snapshot's {@code ../../blobs}. */
    private static List<Path> linkRoots(Path baseDir) throws IOException {
        Path real = baseDir.toRealPath();
        List<Path> roots = new ArrayList<>(List.of(real));
        Path parent = real.getParent();
        if (parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("snapshots") && parent.getParent() != null) {
            roots.add(parent.getParent().resolve("blobs"));
        }
        return roots;
    }

    private static Path realPath(Path link) {
        try {
            return link.toRealPath();
        } catch (IOException e) {
            return link.toAbsolutePath();                    // removed meanwhile: the copy will say so
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
