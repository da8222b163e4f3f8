// LoRA hyper-parameters with the meanings, defaults and __post_init__ checks of PEFT 0.20's LoraConfig
// (peft/tuners/lora/config.py); per-module rank and alpha as LoraModel._create_and_replace picks them
// (get_pattern_key), scale as LoraLayer.update_layer (alpha/r, or alpha/sqrt(r) with use_rslora).
package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import dev.lora4j.model.ModelFamily;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * One adapter's configuration, adapter_config.json's fields in camelCase. {@code targetModules} null means
 * "not set" (PEFT then takes the model family's default, see {@link #withDefaultTargets}); list fields are null
 * when absent; the two pattern maps keep their order, which decides which key wins when several match.
 */
public record LoraConfig(int r, double loraAlpha, double loraDropout, ModuleSpec targetModules,
                         ModuleSpec excludeModules, List<Integer> layersToTransform, List<String> layersPattern,
                         Bias bias, boolean useRslora, boolean useDora, Map<String, Integer> rankPattern,
                         Map<String, Double> alphaPattern, Init initLoraWeights, int pissaNiter, boolean fanInFanOut,
                         List<String> modulesToSave, String taskType, String baseModelNameOrPath) {

    /** Which biases train: PEFT's {@code bias} ("none", "all", "lora_only"). */
    public enum Bias {
        NONE, ALL, LORA_ONLY;

        public String peftName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Bias fromPeft(String value) {
            for (Bias b : values()) if (b.peftName().equals(value)) return b;
            throw new Lora4jException("field 'bias' is \"" + value + "\", expected one of \"none\", \"all\", \"lora_only\"");
        }
    }

    /** How A and B start: PEFT's {@code init_lora_weights} (only these; OLoRA, LoftQ, EVA, CorDA... are refused). */
    public enum Init {
        /** {@code true}: A kaiming-uniform (a = √5), B = 0, so the adapter starts as a no-op. */
        DEFAULT,
        /** {@code "gaussian"}: A ~ N(0, std = 1/r), B = 0. */
        GAUSSIAN,
        /** {@code false}: A and B keep nn.Linear's own kaiming-uniform init; B is not zero. */
        RANDOM,
        /**
         * {@code "pissa"}: A and B from the top-r singular triplets of W (full SVD), W replaced by W − scale·B·A, so the
         * model starts unchanged (Meng et al. 2024, arXiv 2404.02948).
         */
        PISSA,
        /** {@code "pissa_niter_K"}: PiSSA from a randomized SVD with K subspace iterations ({@link #pissaNiter}). */
        PISSA_NITER;

        /** Whether A and B come from W's singular vectors, and W is replaced by the residual. */
        public boolean isPissa() {
            return this == PISSA || this == PISSA_NITER;
        }
    }

    /** PEFT's TaskType values. */
    public static final Set<String> TASK_TYPES =
            Set.of("SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION");

    public LoraConfig {
        if (r <= 0) throw field("r", r, "a positive integer");
        if (!(loraAlpha > 0) || Double.isInfinite(loraAlpha)) throw field("lora_alpha", loraAlpha, "a positive finite number (the update is scaled by alpha / r)");
        if (!(loraDropout >= 0 && loraDropout < 1)) throw field("lora_dropout", loraDropout, "a probability in [0, 1)");
        if (excludeModules instanceof ModuleSpec.AllLinear) {
            throw new Lora4jException("field 'exclude_modules' is \"all-linear\", which only target_modules understands");
        }
        if (targetModules instanceof ModuleSpec.Regex(String p)) checkRegex("target_modules", p, p);
        if (excludeModules instanceof ModuleSpec.Regex(String p)) checkRegex("exclude_modules", p, p);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        boolean targetIsString = targetModules instanceof ModuleSpec.Regex || targetModules instanceof ModuleSpec.AllLinear;
        if (targetIsString && layersToTransform != null) {
            throw new Lora4jException("field 'layers_to_transform' cannot be used when target_modules is a string ("
                    + targetModules + "); give target_modules as a list of names");
        }
        if (targetIsString && layersPattern != null) {
            throw new Lora4jException("field 'layers_pattern' cannot be used when target_modules is a string ("
                    + targetModules + "); give target_modules as a list of names");
        }
        if (layersPattern != null && !layersPattern.isEmpty() && (layersToTransform == null || layersToTransform.isEmpty())) {
            throw new Lora4jException("field 'layers_pattern' " + layersPattern + " is set but layers_to_transform is not");
        }
        if (layersPattern != null) for (String p : layersPattern) checkRegex("layers_pattern", p, ".*?\\." + p + "\\.(\\d+)\\.");
        if (bias == null) throw new Lora4jException("field 'bias' is not set, expected \"none\", \"all\" or \"lora_only\"");
        rankPattern = ordered(rankPattern);
        for (var e : rankPattern.entrySet()) {
            checkRegex("rank_pattern", e.getKey(), patternKeyRegex(e.getKey()));
            if (e.getValue() == null || e.getValue() <= 0) throw field("rank_pattern['" + e.getKey() + "']", e.getValue(), "a positive integer");
        }
        alphaPattern = ordered(alphaPattern);
        for (var e : alphaPattern.entrySet()) {
            checkRegex("alpha_pattern", e.getKey(), patternKeyRegex(e.getKey()));
            if (e.getValue() == null || !(e.getValue() > 0) || e.getValue().isInfinite()) {
                throw field("alpha_pattern['" + e.getKey() + "']", e.getValue(), "a positive finite number");
            }
        }
        if (initLoraWeights == null) throw new Lora4jException("field 'init_lora_weights' is not set, expected true, false, \"gaussian\", \"pissa\" or \"pissa_niter_K\"");
        if (pissaNiter < 0) throw field("init_lora_weights", "\"pissa_niter_" + pissaNiter + '"', "pissa_niter_K with K >= 0");
        if (pissaNiter != 0 && initLoraWeights != Init.PISSA_NITER) {
            throw new IllegalArgumentException("pissaNiter " + pissaNiter + " is only meaningful with Init.PISSA_NITER");
        }
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        if (modulesToSave != null) for (String m : modulesToSave) checkRegex("modules_to_save", m, savedModuleRegex(m));
        if (taskType != null && !TASK_TYPES.contains(taskType)) throw field("task_type", '"' + taskType + '"', "one of " + TASK_TYPES);
    }

    /** PEFT's {@code LoraConfig()} as from_pretrained fills missing fields: r 8, alpha 8, no targets, no task. */
    public static LoraConfig peftDefaults() {
        return new LoraConfig(8, 8, 0.0, null, null, null, null, Bias.NONE, false, false, Map.of(), Map.of(), Init.DEFAULT,
                0, false, null, null, null);
    }

    /**
     * PEFT's defaults for a causal LM of this family: its default target_modules, r 8, alpha 8, no dropout,
     * bias none; fan_in_fan_out true for gpt2, whose Conv1D layers make PEFT set it (and save it) that way.
     */
    public static LoraConfig defaults(String modelType) {
        return peftDefaults().withTaskType("CAUSAL_LM").withDefaultTargets(modelType);
    }

    /**
     * Fills unset target_modules with the family's default as LoraModel._prepare_adapter_config does (PEFT's
     * TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, held by {@link ModelFamily}); GPT-2's Conv1D layers also set
     * fan_in_fan_out, as PEFT sets (and saves) it.
     */
    public LoraConfig withDefaultTargets(String modelType) {
        if (targetModules != null) return this;
        if (ModelFamily.modelTypesOfAll().noneMatch(modelType::equals)) {
            throw new Lora4jException("no default target_modules for model_type '" + modelType + "' (known: "
                    + ModelFamily.modelTypesOfAll().sorted().toList() + "); give the target modules explicitly");
        }
        ModelFamily family = ModelFamily.of(modelType, "model_type");
        return edit(d -> {
            d.targetModules = new ModuleSpec.Names(family.defaultLoraTargets());
            d.fanInFanOut |= family.fanInFanOut();
        });
    }

    public LoraConfig withR(int r) { return edit(d -> d.r = r); }
    public LoraConfig withAlpha(double alpha) { return edit(d -> d.loraAlpha = alpha); }
    public LoraConfig withDropout(double p) { return edit(d -> d.loraDropout = p); }
    public LoraConfig withTargets(ModuleSpec targets) { return edit(d -> d.targetModules = targets); }
    public LoraConfig withExcludes(ModuleSpec excludes) { return edit(d -> d.excludeModules = excludes); }
    public LoraConfig withBias(Bias bias) { return edit(d -> d.bias = bias); }
    public LoraConfig withRslora(boolean on) { return edit(d -> d.useRslora = on); }
    /** DoRA: a trainable magnitude per output row beside A and B (PEFT's use_dora). */
    public LoraConfig withDora(boolean on) { return edit(d -> d.useDora = on); }
    public LoraConfig withRankPattern(Map<String, Integer> p) { return edit(d -> d.rankPattern = p); }
    public LoraConfig withAlphaPattern(Map<String, Double> p) { return edit(d -> d.alphaPattern = p); }
    public LoraConfig withInit(Init init) {
        return edit(d -> {
            d.initLoraWeights = init;
            d.pissaNiter = 0;
        });
    }
    /** PiSSA from a randomized SVD with {@code niter} subspace iterations: {@code init_lora_weights = "pissa_niter_<niter>"}. */
    public LoraConfig withPissaNiter(int niter) {
        return edit(d -> {
            d.initLoraWeights = Init.PISSA_NITER;
            d.pissaNiter = niter;
        });
    }
    /** init_lora_weights as PEFT spells its values: "true", "false", "gaussian", "pissa" or "pissa_niter_K" (a CLI flag). */
    public LoraConfig withInitPeftValue(String value) {
        return LoraConfigJson.withInit(this, value);
    }
    public LoraConfig withFanInFanOut(boolean on) { return edit(d -> d.fanInFanOut = on); }
    public LoraConfig withModulesToSave(List<String> names) { return edit(d -> d.modulesToSave = names); }
    public LoraConfig withTaskType(String taskType) { return edit(d -> d.taskType = taskType); }
    public LoraConfig withBaseModel(String nameOrPath) { return edit(d -> d.baseModelNameOrPath = nameOrPath); }

    /** layers_to_transform with its layers_pattern (null: PEFT's default, the first numbered path segment). */
    public LoraConfig withLayers(List<Integer> layersToTransform, List<String> layersPattern) {
        return edit(d -> {
            d.layersToTransform = layersToTransform;
            d.layersPattern = layersPattern;
        });
    }

    /** The adapter_config.json value of init_lora_weights: true, false, "gaussian", "pissa" or "pissa_niter_K". */
    public Object initPeftValue() {
        return switch (initLoraWeights) {
            case DEFAULT -> Boolean.TRUE;
            case GAUSSIAN -> "gaussian";
            case RANDOM -> Boolean.FALSE;
            case PISSA -> "pissa";
            case PISSA_NITER -> "pissa_niter_" + pissaNiter;
        };
    }

    /** The rank of this module: the first rank_pattern key that matches it (get_pattern_key), else r. */
    public int rankFor(String modulePath) {
        String key = patternKey(rankPattern.keySet(), modulePath);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha of this module: the first alpha_pattern key that matches it, else lora_alpha. */
    public double alphaFor(String modulePath) {
        String key = patternKey(alphaPattern.keySet(), modulePath);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** The factor on B·A for this module: alpha / r, or alpha / √r with use_rslora (per-module r and alpha). */
    public double scaleFor(String modulePath) {
        int rank = rankFor(modulePath);
        return alphaFor(modulePath) / (useRslora ? Math.sqrt(rank) : rank);
    }

    /**
     * get_pattern_key: the first key, in map order, for which {@code (.*\.)?(key)$} matches the path from its
     * start; so "q_proj" matches every q_proj, "layers.0.self_attn.q_proj" one of them, and "^q_proj" only a
     * top-level module named q_proj. Null when none matches.
     */
    static String patternKey(Iterable<String> keys, String modulePath) {
        for (String key : keys) {
            if (Pattern.compile(patternKeyRegex(key)).matcher(modulePath).lookingAt()) return key;
        }
        return null;
    }

    /** Reads an adapter_config.json (only peft_type is required; unknown keys are ignored, as PEFT does). */
    public static LoraConfig read(Path adapterConfigJson) {
        return LoraConfigJson.read(adapterConfigJson);
    }

    /** Parses adapter_config.json text; {@code sourceName} names it in error messages. */
    public static LoraConfig parse(String json, String sourceName) {
        return LoraConfigJson.parse(json, sourceName);
    }

    /** adapter_config.json as PEFT's save_pretrained writes it: sorted keys, two-space indent. */
    public String toJson() {
        return LoraConfigJson.write(this);
    }

    static String patternKeyRegex(String key) {
        return "(.*\\.)?(" + key + ")$";
    }

    static String savedModuleRegex(String name) {
        return "(^|.*\\.)" + name + "($|\\..*)";
    }

    private LoraConfig edit(Consumer<Draft> change) {
        Draft d = new Draft(this);
        change.accept(d);
        return d.build();
    }

    private static <V> Map<String, V> ordered(Map<String, V> m) {
        return m == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    private static void checkRegex(String field, String value, String regex) {
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new Lora4jException("field '" + field + "' has \"" + value + "\", which is not a valid regular expression: "
                    + e.getDescription());
        }
    }

    private static Lora4jException field(String name, Object value, String expected) {
        return new Lora4jException("field '" + name + "' is " + value + ", expected " + expected);
    }

    /** A mutable copy of every field, for the with-methods and the JSON reader. */
    static final class Draft {
        int r;
        double loraAlpha, loraDropout;
        ModuleSpec targetModules, excludeModules;
        List<Integer> layersToTransform;
        List<String> layersPattern, modulesToSave;
        Bias bias;
        boolean useRslora, useDora, fanInFanOut;
        int pissaNiter;
        Map<String, Integer> rankPattern;
        Map<String, Double> alphaPattern;
        Init initLoraWeights;
        String taskType, baseModelNameOrPath;

        Draft(LoraConfig c) {
            r = c.r; loraAlpha = c.loraAlpha; loraDropout = c.loraDropout;
            targetModules = c.targetModules; excludeModules = c.excludeModules;
            layersToTransform = c.layersToTransform; layersPattern = c.layersPattern; bias = c.bias;
            useRslora = c.useRslora; useDora = c.useDora; pissaNiter = c.pissaNiter; rankPattern = c.rankPattern; alphaPattern = c.alphaPattern;
            initLoraWeights = c.initLoraWeights; fanInFanOut = c.fanInFanOut; modulesToSave = c.modulesToSave;
            taskType = c.taskType; baseModelNameOrPath = c.baseModelNameOrPath;
        }

        LoraConfig build() {
            return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, layersToTransform,
                    layersPattern, bias, useRslora, useDora, rankPattern, alphaPattern, initLoraWeights, pissaNiter, fanInFanOut,
                    modulesToSave, taskType, baseModelNameOrPath);
        }
    }
}
