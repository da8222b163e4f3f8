// The weights of a Hugging Face model directory: `model.safetensors`, or the shards listed in
// `model.safetensors.index.json`. Follows transformers' `from_pretrained` lookup order (the single
// file wins) and its index layout {"metadata": {...}, "weight_map": {tensor: shard file}}.
package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every shard is opened and cross-checked with the index up front, in both directions: each tensor
 * the index lists must be in its shard, and each tensor of a shard must be listed for that shard
 * (a stale index would otherwise hide or duplicate weights silently). Reads are thread-safe.
 */
public final class WeightStore implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private WeightStore(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.files = files;
        this.byName = byName;
    }

    /** Opens the weights in {@code dir}; a {@link Lora4jException} if they are missing or inconsistent. */
    public static WeightStore open(Path dir) {
        InputFile.requireDirectory(dir, "a model directory");
        Path single = dir.resolve(SINGLE_FILE);
        Path index = dir.resolve(INDEX_FILE);
        if (Files.exists(single, LinkOption.NOFOLLOW_LINKS)) return openSingle(dir, single);
        if (Files.exists(index, LinkOption.NOFOLLOW_LINKS)) return openSharded(dir, index);
        String found = Files.exists(dir.resolve("pytorch_model.bin"))
                ? " (found pytorch_model.bin: lora4j reads safetensors only, convert the checkpoint first)" : "";
        throw new Lora4jException(dir + ": no model weights: expected " + SINGLE_FILE + " or " + INDEX_FILE + found);
    }

    private static WeightStore openSingle(Path dir, Path single) {
        SafetensorsFile file = SafetensorsFile.open(single);
        Map<String, SafetensorsFile> byName = new TreeMap<>();
        for (String name : file.names()) byName.put(name, file);
        return new WeightStore(dir, List.of(file), Collections.unmodifiableMap(byName));
    }

    private static WeightStore openSharded(Path dir, Path index) {
        Map<String, List<String>> tensorsByShard = readWeightMap(dir, index);
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new TreeMap<>();
            for (Map.Entry<String, List<String>> shard : tensorsByShard.entrySet()) {
                Path shardPath = dir.resolve(shard.getKey());
                List<String> listed = shard.getValue();
                if (!Files.exists(shardPath, LinkOption.NOFOLLOW_LINKS)) {
                    throw new Lora4jException(index + ": shard '" + shard.getKey() + "' (holding '" + listed.getFirst()
                            + "'" + (listed.size() > 1 ? " and " + (listed.size() - 1) + " more tensors" : "")
                            + ") not found in " + dir);
                }
                SafetensorsFile file = SafetensorsFile.open(shardPath);
                opened.add(file);
                for (String name : listed) {
                    if (!file.contains(name)) {
                        throw new Lora4jException(index + ": weight_map puts tensor '" + name + "' in '"
                                + shard.getKey() + "', but that shard has no such tensor");
                    }
                    byName.put(name, file);
                }
                for (String name : file.names()) {
                    if (byName.get(name) != file) {
                        throw new Lora4jException(shardPath + ": holds tensor '" + name + "', which " + INDEX_FILE
                                + " does not list for this shard (is the index stale?)");
                    }
                }
            }
            return new WeightStore(dir, List.copyOf(opened), Collections.unmodifiableMap(byName));
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** Shard file name → the tensors the index places in it, in index order. */
    private static Map<String, List<String>> readWeightMap(Path dir, Path index) {
        JsonNode weightMap = Json.readObject(index, "index").get("weight_map");
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new Lora4jException(index + ": weight_map is " + Json.describe(weightMap)
                    + ", expected a non-empty object mapping tensor names to shard files");
        }
        Map<String, List<String>> byShard = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            JsonNode shard = e.getValue();
            if (!shard.isTextual() || !isPlainFileName(dir, shard.textValue())) {
                throw new Lora4jException(index + ": weight_map entry '" + e.getKey() + "' is " + Json.describe(shard)
                        + ", expected the file name of a shard in the same directory");
            }
            byShard.computeIfAbsent(shard.textValue(), k -> new ArrayList<>()).add(e.getKey());
        }
        return byShard;
    }

    private static boolean isPlainFileName(Path dir, String name) {
        if (name.isEmpty()) return false;
        Path p = dir.resolve(name).normalize();
        return p.getParent() != null && p.getParent().equals(dir.normalize()) && p.getFileName().toString().equals(name);
    }

    public Path dir() {
        return dir;
    }

    /** Every tensor name, sorted. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The header entry of {@code name} (dtype, shape, byte range in its file). */
    public TensorInfo entry(String name) {
        return fileFor(name).entry(name);
    }

    public Shape shape(String name) {
        return fileFor(name).shape(name);
    }

    /** Reads {@code name} as a float32 tensor (see {@link SafetensorsFile#read}). */
    public Tensor read(String name) {
        return fileFor(name).read(name);
    }

    /** Reads {@code name} into {@code dst}, whose length must be the tensor's element count. */
    public void readInto(String name, float[] dst) {
        fileFor(name).readInto(name, dst);
    }

    /** Reads values [from, from + n) of {@code name} into dst[0, n) (see {@link SafetensorsFile#readRange}). */
    public void readRange(String name, long from, float[] dst, int n) {
        fileFor(name).readRange(name, from, dst, n);
    }

    /** The raw bytes of {@code name} (see {@link SafetensorsFile#bytes}). */
    public byte[] bytes(String name) {
        return fileFor(name).bytes(name);
    }

    /** The safetensors file that holds {@code name}. */
    public Path fileOf(String name) {
        return fileFor(name).path();
    }

    private SafetensorsFile fileFor(String name) {
        SafetensorsFile file = byName.get(name);
        if (file == null) {
            throw new Lora4jException(dir + ": no tensor '" + name + "' among the " + byName.size()
                    + " tensors of the model weights");
        }
        return file;
    }

    /** Unmaps every file. Idempotent. */
    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return "WeightStore[" + dir + ", " + files.size() + " file(s), " + byName.size() + " tensors]";
    }
}
