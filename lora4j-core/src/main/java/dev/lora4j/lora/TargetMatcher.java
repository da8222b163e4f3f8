// Which modules get LoRA, as PEFT 0.20's check_target_module_exists (peft/tuners/tuners_utils.py) decides,
// with "all-linear" expanded as _maybe_include_all_linear_layers does and the "nothing was targeted" cases
// of BaseTuner.inject_adapter. Module paths are PEFT's named_modules() keys (transformer.h.0.attn.c_attn).
package dev.lora4j.lora;

import dev.lora4j.Lora4jException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rules, in PEFT's order: exclude_modules wins (a list by exact name or dotted suffix, a string by full
 * match); then a module named by modules_to_save, or inside one, is excluded; then target_modules: a regex must
 * match the whole path; "all-linear" takes every linear layer but the output head; a list takes an exact path
 * as is, and a dotted suffix only if layers_to_transform (when set) lists the layer index read from the path.
 */
public final class TargetMatcher {
    /** What PEFT makes of one module: adapted, excluded (exclude_modules or modules_to_save), or not matched. */
    public enum Decision { TARGETED, EXCLUDED, UNMATCHED }

    /** Module paths sorted by decision, in input order. */
    public record Selection(List<String> targeted, List<String> excluded, List<String> unmatched) {
        public Selection {
            targeted = List.copyOf(targeted);
            excluded = List.copyOf(excluded);
            unmatched = List.copyOf(unmatched);
        }
    }

    /** No layers_pattern: the first number that follows a named segment after a dot (lazy, so MoE expert ids lose). */
    private static final Pattern ANY_LAYER = Pattern.compile(".*?\\.[^.]*\\.(\\d+)\\.");

    private final LoraConfig config;
    private final Pattern targetRegex;
    private final Pattern excludeRegex;
    private final List<Pattern> savedModules = new ArrayList<>();
    private final List<Pattern> layerPatterns = new ArrayList<>();

    public TargetMatcher(LoraConfig config) {
        if (config.targetModules() == null) {
            throw new Lora4jException("target_modules is not set: give module names, a regex or \"all-linear\","
                    + " or take PEFT's default for the model family (LoraConfig.withDefaultTargets)");
        }
        this.config = config;
        targetRegex = config.targetModules() instanceof ModuleSpec.Regex r ? r.compile() : null;
        // PEFT skips exclude_modules when it is falsy: null, an empty list or an empty string.
        excludeRegex = config.excludeModules() instanceof ModuleSpec.Regex r && !r.pattern().isEmpty() ? r.compile() : null;
        if (config.modulesToSave() != null) {
            for (String m : config.modulesToSave()) savedModules.add(Pattern.compile(LoraConfig.savedModuleRegex(m)));
        }
        if (config.layersPattern() == null || config.layersPattern().isEmpty()) {
            layerPatterns.add(ANY_LAYER);
        } else {
            for (String p : config.layersPattern()) layerPatterns.add(Pattern.compile(".*?\\." + p + "\\.(\\d+)\\."));
        }
    }

    public LoraConfig config() {
        return config;
    }

    /**
     * PEFT's decision for one module. {@code isOutputHead} marks what PEFT leaves out of "all-linear": the
     * model's output embeddings (lm_head), or for a SEQ_CLS task without them the classifier head (score,
     * classifier). A non-linear module that target_modules names is an error, as in PEFT ("not supported").
     */
    public Decision decide(String modulePath, boolean isLinear, boolean isOutputHead) {
        if (isExcluded(modulePath)) return Decision.EXCLUDED;
        for (Pattern p : savedModules) {
            if (p.matcher(modulePath).lookingAt()) return Decision.EXCLUDED;
        }
        boolean found = switch (config.targetModules()) {
            case ModuleSpec.AllLinear a -> isLinear && !isOutputHead;
            case ModuleSpec.Regex r -> targetRegex.matcher(modulePath).matches();
            case ModuleSpec.Names n -> n.names().contains(modulePath)
                    || (n.matches(modulePath) && layerAllowed(modulePath));
        };
        if (!found) return Decision.UNMATCHED;
        if (!isLinear) {
            throw new Lora4jException("target_modules " + config.targetModules() + " matches '" + modulePath
                    + "', which is not a linear layer; LoRA applies to Linear and Conv1D layers only");
        }
        return Decision.TARGETED;
    }

    /** Whether this module gets LoRA. */
    public boolean matches(String modulePath, boolean isLinear, boolean isOutputHead) {
        return decide(modulePath, isLinear, isOutputHead) == Decision.TARGETED;
    }

    /** Decides every linear layer of a model; {@code outputHeadPath} (lm_head, or null) is the head "all-linear" skips. */
    public Selection select(List<String> linearModulePaths, String outputHeadPath) {
        List<String> targeted = new ArrayList<>(), excluded = new ArrayList<>(), unmatched = new ArrayList<>();
        for (String path : linearModulePaths) {
            switch (decide(path, true, path.equals(outputHeadPath))) {
                case TARGETED -> targeted.add(path);
                case EXCLUDED -> excluded.add(path);
                case UNMATCHED -> unmatched.add(path);
            }
        }
        return new Selection(targeted, excluded, unmatched);
    }

    /**
     * Why nothing was targeted, sorted into PEFT's three cases (all excluded; nothing matched; a mix), naming
     * the settings involved; the caller adds the module names.
     */
    public String explainNoMatch(Selection s) {
        String excludes = config.modulesToSave() == null ? "exclude_modules " + config.excludeModules()
                : config.excludeModules() == null ? "modules_to_save " + config.modulesToSave()
                : "exclude_modules " + config.excludeModules() + " and modules_to_save " + config.modulesToSave();
        if (!s.excluded().isEmpty() && s.unmatched().isEmpty()) {
            return "all modules were excluded: check target_modules " + config.targetModules() + ", " + excludes;
        }
        if (s.excluded().isEmpty()) {
            return "target_modules " + config.targetModules() + " matched no module" + layerNote();
        }
        return "no module was targeted: the modules not excluded by " + excludes + " do not match target_modules "
                + config.targetModules() + layerNote();
    }

    /**
     * The layer index PEFT reads from a path for layers_to_transform: after the first ".&lt;pattern&gt;." (or,
     * with no layers_pattern, after the first dotted segment) that is followed by digits and a dot; null if none.
     */
    public Integer layerIndex(String modulePath) {
        for (Pattern p : layerPatterns) {
            Matcher m = p.matcher(modulePath);
            if (m.lookingAt()) {
                try {
                    return Integer.parseInt(m.group(1));
                } catch (NumberFormatException e) {
                    return null;
                }
            }
        }
        return null;
    }

    private boolean isExcluded(String modulePath) {
        return switch (config.excludeModules()) {
            case null -> false;
            case ModuleSpec.Regex r -> excludeRegex != null && excludeRegex.matcher(modulePath).matches();
            case ModuleSpec.Names n -> n.matches(modulePath);
            case ModuleSpec.AllLinear a -> false;
        };
    }

    /** layers_to_transform applies to dotted-suffix matches only; a path with no layer index is then left out. */
    private boolean layerAllowed(String modulePath) {
        List<Integer> layers = config.layersToTransform();
        if (layers == null || layers.isEmpty()) return true;
        Integer index = layerIndex(modulePath);
        return index != null && layers.contains(index);
    }

    private String layerNote() {
        if (config.layersToTransform() == null) return "";
        String pattern = config.layersPattern() == null || config.layersPattern().isEmpty()
                ? "the first '.<name>.<index>.' in the path" : "'.<pattern>.<index>.' for layers_pattern " + config.layersPattern();
        return " (layers_to_transform " + config.layersToTransform() + " keeps only modules whose layer index, read from "
                + pattern + ", is listed)";
    }
}
