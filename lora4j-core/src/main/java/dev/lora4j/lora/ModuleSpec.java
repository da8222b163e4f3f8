// Which modules a LoRA config names: PEFT 0.20's LoraConfig.target_modules / exclude_modules
// (peft/tuners/lora/config.py), either a list of names or one string that is a regex over the whole
// module path, where target_modules also takes the shorthand "all-linear" (INCLUDE_LINEAR_LAYERS_SHORTHAND).
package dev.lora4j.lora;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/** The three forms of {@code target_modules}; {@link TargetMatcher} says how each one matches. */
public sealed interface ModuleSpec {
    /** PEFT's shorthand for "every linear layer except the output head", compared case-insensitively. */
    String ALL_LINEAR = "all-linear";

    /**
     * Names, each matching a module path exactly or as a dotted suffix: {@code c_proj} matches
     * {@code transformer.h.0.attn.c_proj}, {@code attn.c_proj} only the attention one, {@code proj} neither.
     * Duplicates are dropped, order kept (PEFT holds a set and writes it back as a list).
     */
    record Names(List<String> names) implements ModuleSpec {
        public Names {
            names = List.copyOf(new LinkedHashSet<>(names));
        }

        /** Exact name or dotted suffix (check_target_module_exists, and the exclude_modules list rule). */
        public boolean matches(String modulePath) {
            for (String n : names) {
                if (modulePath.equals(n) || modulePath.endsWith("." + n)) return true;
            }
            return false;
        }

        @Override
        public String toString() {
            return names.toString();
        }
    }

    /** A regular expression that must match the whole module path (Python's {@code re.fullmatch}). */
    record Regex(String pattern) implements ModuleSpec {
        public Regex {
            Objects.requireNonNull(pattern, "pattern");
        }

        public Pattern compile() {
            return Pattern.compile(pattern);
        }

        @Override
        public String toString() {
            return "regex '" + pattern + "'";
        }
    }

    /** Every linear layer except the output head ({@code _maybe_include_all_linear_layers}). */
    record AllLinear() implements ModuleSpec {
        @Override
        public String toString() {
            return ALL_LINEAR;
        }
    }

    static ModuleSpec names(String... names) {
        return new Names(List.of(names));
    }

    static ModuleSpec names(List<String> names) {
        return new Names(names);
    }

    /** A single string as PEFT reads target_modules: "all-linear" in any case is the shorthand, anything else a regex. */
    static ModuleSpec of(String targetModules) {
        return targetModules.toLowerCase(Locale.ROOT).equals(ALL_LINEAR) ? new AllLinear() : new Regex(targetModules);
    }

    /** The value written to adapter_config.json: a list of names or one string. */
    default Object jsonValue() {
        return switch (this) {
            case Names n -> n.names();
            case Regex r -> r.pattern();
            case AllLinear a -> ALL_LINEAR;
        };
    }
}
