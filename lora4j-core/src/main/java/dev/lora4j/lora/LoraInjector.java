package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.nn.Model;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Applies a {@link LoraConfig} to a model as PEFT's get_peft_model does: every linear layer the
 * {@link TargetMatcher} selects is replaced by a {@link LoraLinear}; everything else is frozen, except
 * the biases {@code bias} asks for and the modules in {@code modules_to_save}. Nothing matched, or a
 * listed target name that matches no module of this model, is an error listing the modules available.
 */
public final class LoraInjector {
    private LoraInjector() {}

    /** What was injected, with the paper's trainable / total parameter count. */
    public record Report(List<String> targeted, long trainable, long total) {
        public double trainablePercent() {
            return 100.0 * trainable / total;
        }

        /** PEFT's print_trainable_parameters line. */
        public String summary() {
            return String.format("trainable params: %,d || all params: %,d || trainable%%: %.4f", trainable, total, trainablePercent());
        }
    }

    /** Injects LoRA layers initialised from {@code seed}; the model's other parameters are frozen. */
    public static Report apply(Model model, LoraConfig config, long seed) {
        Module root = model.module();
        String prefix = model.peftPrefix();
        Map<String, Linear> targets = targets(model, config);
        root.namedParameters().values().forEach(p -> p.requiresGrad(false));
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Map.Entry<String, Linear>> list = List.copyOf(targets.entrySet());
        SplittableRandom[] rnds = new SplittableRandom[list.size()];
        for (int i = 0; i < rnds.length; i++) rnds[i] = rnd.split();          // in module order, whatever runs in parallel
        LoraLinear[] made = new LoraLinear[list.size()];
        IntConsumer make = i -> {
            String path = prefix + list.get(i).getKey();
            made[i] = new LoraLinear(list.get(i).getValue(), config.rankFor(path), (float) config.scaleFor(path), config, rnds[i]);
        };
        if (config.initLoraWeights().isPissa()) Gemm.parallelFor(made.length, make);   // an SVD per layer: seconds each
        else for (int i = 0; i < made.length; i++) make.accept(i);
        List<String> targeted = new ArrayList<>();
        for (int i = 0; i < made.length; i++) {
            String name = list.get(i).getKey(), path = prefix + name;
            LoraLinear lora = made[i];
            int dot = name.lastIndexOf('.');
            root.find(dot < 0 ? "" : name.substring(0, dot)).replaceChild(name.substring(dot + 1), lora);
            if (config.bias() == LoraConfig.Bias.LORA_ONLY && lora.base().bias() != null) lora.base().bias().requiresGrad(true);
            targeted.add(path);
        }
        root.namedParameters().forEach((name, p) -> {
            if (config.bias() == LoraConfig.Bias.ALL && name.endsWith(".bias")) p.requiresGrad(true);
        });
        trainModulesToSave(model, config);
        long trainable = 0, total = 0;
        for (Tensor p : root.namedParameters().values()) {
            total += p.size();
            if (p.requiresGrad()) trainable += p.size();
        }
        return new Report(targeted, trainable, total);
    }

    /**
     * The parameters of {@code model} (not yet injected) that {@link #apply} with {@code config} needs in float32: those
     * of modules_to_save, which it trains, and the weights of the targeted layers whose float32 values it reads (DoRA's
     * weight norms, PiSSA's SVD and residual). A compact base may hold every other frozen matrix so from the start.
     */
    public static Set<String> float32Parameters(Model model, LoraConfig config) {
        Set<String> out = new HashSet<>();
        if (config.useDora() || config.initLoraWeights().isPissa()) {
            targets(model, config).forEach((name, l) -> out.add(name + ".weight"));
        }
        if (config.modulesToSave() != null) {
            for (String n : config.modulesToSave()) {
                modulesNamed(model, n).forEach((name, m) -> m.namedParameters().keySet().forEach(p -> out.add(name + "." + p)));
            }
        }
        return out;
    }

    /**
     * The linear layers {@code config} targets in {@code model}, by module name (without the PEFT prefix), in module order;
     * nothing matched, a listed name this model lacks, or a rank above a layer's is an error listing what the model has.
     */
    public static Map<String, Linear> targets(Model model, LoraConfig config) {
        String prefix = model.peftPrefix();
        Map<String, Linear> linears = new LinkedHashMap<>();
        model.module().namedModules().forEach((name, m) -> {
            if (m instanceof Linear l && !(m instanceof LoraLinear) && !name.contains(".lora_")) linears.put(name, l);
        });
        List<String> paths = linears.keySet().stream().map(n -> prefix + n).toList();
        TargetMatcher matcher = new TargetMatcher(config);
        TargetMatcher.Selection sel = matcher.select(paths, model.outputHead() == null ? null : prefix + model.outputHead());
        if (sel.targeted().isEmpty()) {
            throw new Lora4jException(matcher.explainNoMatch(sel) + "; the " + model.modelType() + " model's linear modules are: " + String.join(", ", paths));
        }
        if (config.targetModules() instanceof ModuleSpec.Names names) {
            for (String n : names.names()) {
                if (paths.stream().noneMatch(p -> p.equals(n) || p.endsWith("." + n))) {
                    throw new Lora4jException("target_modules names '" + n + "', which this " + model.modelType()
                            + " model does not have; its linear modules are: " + String.join(", ", paths));
                }
            }
        }
        checkRanks(config, linears, prefix, sel.targeted());
        Map<String, Linear> out = new LinkedHashMap<>();
        linears.forEach((name, l) -> {
            if (sel.targeted().contains(prefix + name)) out.put(name, l);
        });
        return out;
    }

    /**
     * Refuses, before any LoRA weight is allocated, a rank above min(in, out) of a targeted layer: B·A then has at most
     * that rank anyway, so a larger r only costs memory (r = 100000000 asked for gigabytes). PEFT has no such rule.
     */
    private static void checkRanks(LoraConfig config, Map<String, Linear> linears, String prefix, List<String> targeted) {
        List<String> tooHigh = new ArrayList<>();
        String first = null;
        for (Map.Entry<String, Linear> e : linears.entrySet()) {
            String path = prefix + e.getKey();
            if (!targeted.contains(path)) continue;
            int r = config.rankFor(path), max = Math.min(e.getValue().inFeatures(), e.getValue().outFeatures());
            if (r <= max) continue;
            tooHigh.add(path);
            if (first == null) {
                String key = LoraConfig.patternKey(config.rankPattern().keySet(), path);
                first = (key == null ? "field 'r'" : "field 'rank_pattern['" + key + "']'") + " is " + r + ", but " + path + " ("
                        + e.getValue().inFeatures() + " → " + e.getValue().outFeatures() + ") allows a rank of at most min(in, out) = " + max;
            }
        }
        if (first != null) {
            throw new Lora4jException(first + (tooHigh.size() > 1 ? " (and " + (tooHigh.size() - 1) + " more targeted modules)" : "")
                    + ": a LoRA update B·A cannot have a higher rank than its layer");
        }
    }

    /**
     * The heads PEFT's PeftModelForSequenceClassification adds to modules_to_save for every SEQ_CLS adapter
     * (and saves in adapter_config.json); a model has one of them, so the other may be absent.
     */
    public static final List<String> SEQ_CLS_HEADS = List.of("classifier", "score");

    /** modules_to_save: every module whose path is the name or ends with ".name" trains in full. */
    private static void trainModulesToSave(Model model, LoraConfig config) {
        if (config.modulesToSave() == null) return;
        for (String n : config.modulesToSave()) {
            Map<String, Module> found = modulesNamed(model, n);
            found.values().forEach(m -> m.namedParameters().values().forEach(p -> p.requiresGrad(true)));
            boolean addedByPeft = "SEQ_CLS".equals(config.taskType()) && SEQ_CLS_HEADS.contains(n);
            if (found.isEmpty() && !addedByPeft) {
                throw new Lora4jException("modules_to_save names '" + n + "', which this " + model.modelType() + " model does not have");
            }
        }
    }

    /** The modules whose PEFT path is {@code name} or ends with ".name" (PEFT's rule for modules_to_save), by module name. */
    static Map<String, Module> modulesNamed(Model model, String name) {
        Map<String, Module> out = new LinkedHashMap<>();
        model.module().namedModules().forEach((moduleName, m) -> {
            String path = model.peftPrefix() + moduleName;
            if (path.equals(name) || path.endsWith("." + name)) out.put(moduleName, m);
        });
        return out;
    }

    /** The LoRA layers of a model by module name (without the PEFT prefix). */
    public static Map<String, LoraLinear> loraLayers(Model model) {
        Map<String, LoraLinear> out = new LinkedHashMap<>();
        model.module().namedModules().forEach((name, m) -> {
            if (m instanceof LoraLinear l) out.put(name, l);
        });
        return out;
    }
}
