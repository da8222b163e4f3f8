package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.Output;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.nn.Model;
import dev.lora4j.nn.StateDict;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT adapter directories, as save_pretrained writes and from_pretrained reads them:
 * {@code adapter_config.json} and {@code adapter_model.safetensors} with keys
 * {@code base_model.model.<HF module path>.lora_A.weight} (r, in) and {@code .lora_B.weight} (out, r) (and DoRA's
 * {@code .lora_magnitude_vector} (out)), plus trained biases and modules_to_save under their own paths. Loading is
 * strict: every tensor in the file must land on an adapter parameter with its exact shape, and every adapter parameter
 * must be in the file.
 */
public final class AdapterIO {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    public static final String KEY_PREFIX = "base_model.model.";
    /** DoRA's magnitude vector (out) beside lora_A and lora_B, saved without a ".weight" suffix as PEFT saves it. */
    public static final String MAGNITUDE = "lora_magnitude_vector";

    private AdapterIO() {}

    /**
     * The adapter's tensors under their PEFT keys, from the model's structure and the config, as PEFT's
     * get_peft_model_state_dict chooses them: every LoRA layer's lora_A and lora_B (and DoRA's magnitude); the biases that
     * {@code bias} trains ("all": every bias; "lora_only": those of the adapted layers); and every parameter of the modules named in
     * modules_to_save. Whether a tensor has a gradient plays no part.
     */
    public static Map<String, Tensor> tensors(Model model, LoraConfig config) {
        Map<String, LoraLinear> layers = LoraInjector.loraLayers(model);
        Set<String> saved = new HashSet<>();
        if (config.modulesToSave() != null) {
            for (String n : config.modulesToSave()) {
                LoraInjector.modulesNamed(model, n).forEach((name, m) -> m.namedParameters().keySet().forEach(p -> saved.add(name + "." + p)));
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.module().namedParameters().forEach((name, p) -> {
            int dot = name.lastIndexOf('.');
            String module = dot < 0 ? "" : name.substring(0, dot);
            boolean lora = name.endsWith(".lora_A.weight") || name.endsWith(".lora_B.weight") || name.endsWith("." + MAGNITUDE);
            boolean bias = name.endsWith(".bias") && switch (config.bias()) {
                case ALL -> true;
                case LORA_ONLY -> module.endsWith(".base_layer") && layers.containsKey(module.substring(0, module.length() - ".base_layer".length()));
                case NONE -> false;
            };
            if (lora || bias || saved.contains(name)) out.put(KEY_PREFIX + model.peftPrefix() + name, p);
        });
        return out;
    }

    /**
     * Writes the adapter into {@code dir} (created if needed), each file atomically. "all-linear" is saved as
     * the module names it expanded to, as PEFT saves it, so loaders that need a list (vLLM) can read it. A PiSSA adapter
     * is written converted ({@link PissaConversion}): a plain LoRA of rank 2r for the original base.
     */
    public static void write(Path dir, Model model, LoraConfig config) {
        Map<String, Tensor> tensors = config.initLoraWeights().isPissa() ? PissaConversion.tensors(model, config) : tensors(model, config);
        if (config.initLoraWeights().isPissa()) config = PissaConversion.config(config);
        if (config.targetModules() instanceof ModuleSpec.AllLinear) {
            List<String> leaves = LoraInjector.loraLayers(model).keySet().stream()
                    .map(n -> n.substring(n.lastIndexOf('.') + 1)).distinct().sorted().toList();
            config = config.withTargets(new ModuleSpec.Names(leaves));
        }
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new Lora4jException(dir + ": cannot create: " + e.getMessage(), e);
        }
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve(CONFIG_FILE), config.toJson());
    }

    /**
     * Writes the adapter as a new directory that appears complete or not at all; {@code dir} must not exist or be empty
     * (see {@link Output}).
     */
    public static void save(Path dir, Model model, LoraConfig config) {
        try (Output out = Output.directory(dir, Output.Kind.ADAPTER, Output.Mode.NEW, List.of())) {
            save(out, model, config);
        }
    }

    /** Writes the adapter into a claimed output, which appears complete or not at all. */
    public static void save(Output out, Model model, LoraConfig config) {
        Path staging = out.stage();
        write(staging, model, config);
        out.commit(staging);
    }

    /** The adapter directory's weights file, checked to be a regular file (a pickle-only adapter is named as such). */
    static Path weightsFile(Path dir) {
        InputFile.requireDirectory(dir, "a PEFT adapter directory");
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (Files.notExists(weights, LinkOption.NOFOLLOW_LINKS) && Files.exists(dir.resolve("adapter_model.bin"))) {
            throw new Lora4jException(weights + ": not found (only adapter_model.bin, a pickle, is there: convert it to safetensors)");
        }
        return InputFile.requireRegular(weights, "a .safetensors file");
    }

    /**
     * Injects the adapter in {@code dir} into {@code model} (unmerged) and loads its weights; returns the injection report.
     * A PiSSA adapter saved unconverted is refused: its weights belong to a residual base, not to {@code model}.
     */
    public static LoraInjector.Report load(Path dir, Model model) {
        Path weights = weightsFile(dir);
        LoraConfig config = LoraConfig.read(dir.resolve(CONFIG_FILE));
        if (config.initLoraWeights().isPissa()) throw PissaConversion.unconverted(dir.resolve(CONFIG_FILE), config);
        LoraInjector.Report report = LoraInjector.apply(model, config, 0);
        Map<String, Tensor> expected = tensors(model, config);
        List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String key : f.names()) {
                Tensor p = expected.get(key);
                if (p == null) unexpected.add(key);
                else if (!f.shape(key).equals(p.shape())) misShaped.add(key + ": file " + f.shape(key) + ", model expects " + p.shape());
            }
            List<String> missing = expected.keySet().stream().filter(k -> !f.contains(k)).toList();
            if (!unexpected.isEmpty() || !misShaped.isEmpty() || !missing.isEmpty()) {
                StringBuilder sb = new StringBuilder(weights + ": the adapter does not fit this model");
                StateDict.section(sb, "tensors that map to no adapter parameter", unexpected);
                StateDict.section(sb, "wrong shape", misShaped);
                StateDict.section(sb, "missing", missing);
                throw new Lora4jException(sb.toString());
            }
            expected.forEach((key, p) -> f.readInto(key, p.data()));
        }
        return report;
    }
}
