// A PEFT LoRA adapter read for a base model without being injected into it, so that one base serves many adapters at
// once (S-LoRA's and Punica's adapters beside a shared base): per targeted linear layer its lora_A, lora_B and scale,
// chosen and checked as AdapterIO.load chooses and checks them (PEFT's target matching, strict keys and shapes). A DoRA
// layer's output is f⊙(x·Wᵀ + s·x·Aᵀ·Bᵀ) + b with f = m / ‖W + s·B·A‖ per output row: W and the adapter are fixed while
// served, so f is computed once here and each row gets its adapter's update and factor (exact, no merged copy of W).
package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.DoraDelta;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.LinearAdapter;
import dev.lora4j.nn.Model;
import dev.lora4j.nn.StateDict;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The updates of one adapter, keyed by the base's linear layers; immutable once read, so any number of threads and
 * batches may share it. Only adapters made of lora_A and lora_B (and DoRA's magnitudes) are held apart: one that also
 * trains biases or modules_to_save changes base weights, so it is refused (merge it, or load it with {@link AdapterIO#load}).
 */
public final class AdapterWeights implements LinearAdapter {
    private final LoraConfig config;
    private final Map<Linear, Update> updates;
    private final int maxRank;
    private final long bytes;

    private AdapterWeights(LoraConfig config, Map<Linear, Update> updates) {
        this.config = config;
        this.updates = updates;
        this.maxRank = updates.values().stream().mapToInt(Update::rank).max().orElse(0);
        this.bytes = updates.values().stream()
                .mapToLong(u -> 4L * (u.a().size() + u.b().size() + (u.doraFactor() == null ? 0 : u.doraFactor().length))).sum();
    }

    /** The adapter in the PEFT directory {@code dir}, for the linear layers of {@code base} (which stays unchanged). */
    public static AdapterWeights read(Path dir, Model base) {
        Path weights = AdapterIO.weightsFile(dir);
        LoraConfig config = LoraConfig.read(dir.resolve(AdapterIO.CONFIG_FILE));
        if (config.bias() != LoraConfig.Bias.NONE) {
            throw new Lora4jException(dir + ": the adapter trains biases (bias = \"" + config.bias().peftName()
                    + "\"), which change the base itself; only lora_A/lora_B adapters can share a base: merge this one instead");
        }
        if (config.modulesToSave() != null && !config.modulesToSave().isEmpty()) {
            throw new Lora4jException(dir + ": the adapter trains whole modules (modules_to_save " + config.modulesToSave()
                    + "), which replace parts of the base; only lora_A/lora_B adapters can share a base: merge this one instead");
        }
        if (config.initLoraWeights().isPissa()) throw PissaConversion.unconverted(dir.resolve(AdapterIO.CONFIG_FILE), config);
        String prefix = AdapterIO.KEY_PREFIX + base.peftPrefix();
        Map<String, Linear> targets = LoraInjector.targets(base, config);
        Map<String, Shape> expected = new LinkedHashMap<>();
        targets.forEach((name, l) -> {
            int r = config.rankFor(base.peftPrefix() + name);
            expected.put(prefix + name + ".lora_A.weight", new Shape(r, l.inFeatures()));
            expected.put(prefix + name + ".lora_B.weight", new Shape(l.outFeatures(), r));
            if (config.useDora()) expected.put(prefix + name + "." + AdapterIO.MAGNITUDE, new Shape(l.outFeatures()));
        });
        Map<Linear, Update> updates = new IdentityHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>();
            for (String key : f.names()) {
                Shape shape = expected.get(key);
                if (shape == null) unexpected.add(key);
                else if (!f.shape(key).equals(shape)) misShaped.add(key + ": file " + f.shape(key) + ", model expects " + shape);
            }
            List<String> missing = expected.keySet().stream().filter(k -> !f.contains(k)).toList();
            if (!unexpected.isEmpty() || !misShaped.isEmpty() || !missing.isEmpty()) {
                StringBuilder sb = new StringBuilder(weights + ": the adapter does not fit this model");
                StateDict.section(sb, "tensors that map to no adapter parameter", unexpected);
                StateDict.section(sb, "wrong shape", misShaped);
                StateDict.section(sb, "missing", missing);
                throw new Lora4jException(sb.toString());
            }
            targets.forEach((name, l) -> {
                Tensor a = Tensor.zeros(expected.get(prefix + name + ".lora_A.weight").dims());
                Tensor b = Tensor.zeros(expected.get(prefix + name + ".lora_B.weight").dims());
                f.readInto(prefix + name + ".lora_A.weight", a.data());
                f.readInto(prefix + name + ".lora_B.weight", b.data());
                float scale = (float) config.scaleFor(base.peftPrefix() + name);
                float[] factor = null;
                if (config.useDora()) {
                    float[] m = new float[l.outFeatures()];
                    f.readInto(prefix + name + "." + AdapterIO.MAGNITUDE, m);
                    factor = DoraDelta.factor(m, DoraDelta.weightNorms(l.weight().storage(), l.fanInFanOut(), l.outFeatures(),
                            l.inFeatures(), a.data(), b.data(), a.dim(0), scale));
                }
                updates.put(l, new Update(a, b, scale, factor));
            });
        }
        return new AdapterWeights(config, updates);
    }

    @Override
    public Update update(Linear layer) {
        return updates.get(layer);
    }

    /** The adapter's adapter_config.json. */
    public LoraConfig config() {
        return config;
    }

    /** The highest rank among its layers. */
    public int maxRank() {
        return maxRank;
    }

    /** Bytes its matrices take. */
    public long bytes() {
        return bytes;
    }

    /** Number of base layers it adapts. */
    public int layers() {
        return updates.size();
    }
}
