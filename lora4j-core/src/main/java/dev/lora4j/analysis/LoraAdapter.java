// A PEFT LoRA adapter directory opened for analysis (Hu et al. 2021, LoRA, arXiv 2106.09685 §7): the module
// list and each module's factors A (r×in), B (out×r) and scale, read one module at a time in double precision,
// so a large adapter never sits in memory twice. Keys and scale follow PEFT: base_model.model.<module>.lora_A.weight
// and .lora_B.weight, scale = lora_alpha/r (or /√r with use_rslora) per module (rank_pattern, alpha_pattern).
package dev.lora4j.analysis;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.tensor.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An open adapter: {@link #modules()} in natural order (layer 2 before layer 10), factors on demand. */
public final class LoraAdapter implements AutoCloseable {
    private static final String A_SUFFIX = ".lora_A.weight", B_SUFFIX = ".lora_B.weight";

    /** One module's factors: ΔW = scale·B·A, [out, in]. */
    public record Factors(String module, double[][] a, double[][] b, double scale) {
        public int rank() { return a.length; }
        public int in() { return a[0].length; }
        public int out() { return b.length; }
    }

    /** A module's sizes as the file gives them. */
    public record Entry(String module, int rank, int in, int out, double scale) {}

    private final Path dir;
    private final LoraConfig config;
    private final SafetensorsFile file;
    private final Map<String, Entry> entries;

    private LoraAdapter(Path dir, LoraConfig config, SafetensorsFile file, Map<String, Entry> entries) {
        this.dir = dir;
        this.config = config;
        this.file = file;
        this.entries = entries;
    }

    /**
     * Opens {@code dir} and checks it: both files present, every lora_A with its lora_B, 2-D shapes whose ranks
     * agree with each other and with adapter_config.json.
     *
     * @throws Lora4jException naming the file and key of the first problem
     */
    public static LoraAdapter open(Path dir) {
        if (!Files.isDirectory(dir)) throw new Lora4jException(dir + ": adapter directory not found");
        Path configFile = dir.resolve(AdapterIO.CONFIG_FILE), weights = dir.resolve(AdapterIO.WEIGHTS_FILE);
        if (!Files.isRegularFile(configFile)) throw new Lora4jException(configFile + ": not found (is " + dir + " a PEFT adapter directory?)");
        if (!Files.isRegularFile(weights)) {
            throw new Lora4jException(weights + ": not found" + (Files.exists(dir.resolve("adapter_model.bin"))
                    ? " (only adapter_model.bin, a pickle, is there: convert it to safetensors)" : ""));
        }
        LoraConfig config = LoraConfig.read(configFile);
        SafetensorsFile file = SafetensorsFile.open(weights);
        try {
            return new LoraAdapter(dir, config, file, entries(file, config));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static Map<String, Entry> entries(SafetensorsFile file, LoraConfig config) {
        List<String> modules = new ArrayList<>();
        for (String key : file.names()) {
            if (!key.startsWith(AdapterIO.KEY_PREFIX)) continue;
            if (key.endsWith(A_SUFFIX)) modules.add(module(key, A_SUFFIX));
            else if (key.endsWith(B_SUFFIX) && !file.contains(key.substring(0, key.length() - B_SUFFIX.length()) + A_SUFFIX)) {
                throw new Lora4jException(file.path() + ": tensor '" + key + "' has no matching lora_A.weight");
            }
        }
        if (modules.isEmpty()) {
            throw new Lora4jException(file.path() + ": no LoRA tensors (no key " + AdapterIO.KEY_PREFIX + "<module>" + A_SUFFIX + "; the file has "
                    + file.names().size() + " tensors)");
        }
        modules.sort(NATURAL);
        Map<String, Entry> out = new LinkedHashMap<>();
        for (String m : modules) {
            String aKey = key(m, A_SUFFIX), bKey = key(m, B_SUFFIX);
            if (!file.contains(bKey)) throw new Lora4jException(file.path() + ": tensor '" + aKey + "' has no matching '" + bKey + "'");
            Shape a = file.shape(aKey), b = file.shape(bKey);
            if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1) || a.dim(0) == 0) {
                throw new Lora4jException(file.path() + ": '" + aKey + "' is " + a + " and '" + bKey + "' is " + b
                        + ", expected [r, in] and [out, r] with the same r");
            }
            int r = a.dim(0);
            if (r != config.rankFor(m)) {
                throw new Lora4jException(file.path() + ": '" + aKey + "' has rank " + r + ", but adapter_config.json gives r = "
                        + config.rankFor(m) + " for module " + m);
            }
            out.put(m, new Entry(m, r, a.dim(1), b.dim(0), config.scaleFor(m)));
        }
        return out;
    }

    public Path dir() { return dir; }

    public LoraConfig config() { return config; }

    /** Adapted module paths (PEFT's, without base_model.model.), layers in numeric order. */
    public List<String> modules() { return List.copyOf(entries.keySet()); }

    public Entry entry(String module) {
        Entry e = entries.get(module);
        if (e == null) throw new Lora4jException(dir + ": the adapter has no module '" + module + "'");
        return e;
    }

    /** Reads the module's A and B in double and checks they are finite. */
    public Factors factors(String module) {
        Entry e = entry(module);
        return new Factors(module, read(key(module, A_SUFFIX), e.rank(), e.in()), read(key(module, B_SUFFIX), e.out(), e.rank()), e.scale());
    }

    private double[][] read(String key, int rows, int cols) {
        float[] flat = new float[rows * cols];
        file.readInto(key, flat);
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                float x = flat[i * cols + j];
                if (!Float.isFinite(x)) throw new Lora4jException(file.path() + ": tensor '" + key + "' has a non-finite value (" + x + ") at [" + i + ", " + j + "]");
                m[i][j] = x;
            }
        }
        return m;
    }

    @Override
    public void close() { file.close(); }

    private static String key(String module, String suffix) { return AdapterIO.KEY_PREFIX + module + suffix; }

    private static String module(String key, String suffix) {
        return key.substring(AdapterIO.KEY_PREFIX.length(), key.length() - suffix.length());
    }

    /** Dotted paths compared segment by segment, numbers as numbers. */
    static final Comparator<String> NATURAL = (x, y) -> {
        String[] a = x.split("\\."), b = y.split("\\.");
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            int c = a[i].matches("\\d{1,9}") && b[i].matches("\\d{1,9}")
                    ? Integer.compare(Integer.parseInt(a[i]), Integer.parseInt(b[i])) : a[i].compareTo(b[i]);
            if (c != 0) return c;
        }
        return Integer.compare(a.length, b.length);
    };
}
