// adapter_config.json as PEFT 0.20 reads and writes it (peft/config.py, PeftConfigMixin.from_pretrained /
// from_peft_type / save_pretrained): only peft_type is required, unknown keys are dropped, missing keys take
// LoraConfig's defaults; written as json.dumps(to_dict(), indent=2, sort_keys=True) with sets as lists.
package dev.lora4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

final class LoraConfigJson {
    /** Fields that change what an adapter computes and that lora4j does not implement: refused unless at their default. */
    private static final Map<String, String> UNSUPPORTED = Map.of(
            "lora_bias", "a bias on lora_B", "use_qalora", "QA-LoRA",
            "layer_replication", "layer replication", "target_parameters", "LoRA on nn.Parameter targets",
            "trainable_token_indices", "trainable tokens", "alora_invocation_tokens", "activated LoRA",
            "arrow_config", "Arrow routing");

    /** PEFT's "pissa_niter_[number of iters]": the subspace iterations of the randomized SVD. */
    private static final String PISSA_NITER = "pissa_niter_[0-9]{1,9}";

    private LoraConfigJson() {}

    static LoraConfig read(Path file) {
        return from(HfConfig.read(file));
    }

    static LoraConfig parse(String json, String source) {
        return from(HfConfig.parse(json, source));
    }

    private static LoraConfig from(HfConfig c) {
        String src = c.source();
        JsonNode root = c.raw();
        JsonNode type = root.get("peft_type");
        if (type == null || type.isNull()) {
            throw new Lora4jException(src + ": missing required field 'peft_type' (expected \"LORA\")");
        }
        if (!type.isTextual() || !type.textValue().equals("LORA")) {
            throw new Lora4jException(src + ": field 'peft_type' is " + type + ", expected \"LORA\" (lora4j reads LoRA adapters only)");
        }
        for (var e : UNSUPPORTED.entrySet()) {
            JsonNode v = root.get(e.getKey());
            boolean isDefault = v == null || v.isNull() || (v.isBoolean() && !v.booleanValue()) || (v.isContainerNode() && v.isEmpty());
            if (!isDefault) {
                throw new Lora4jException(src + ": field '" + e.getKey() + "' is " + v + ": " + e.getValue()
                        + " is not supported by lora4j (expected the default, " + (v.isBoolean() ? "false" : "null") + ")");
            }
        }
        try {
            LoraConfig.Draft d = new LoraConfig.Draft(LoraConfig.peftDefaults());
            d.r = c.intOr("r", d.r);
            d.loraAlpha = c.doubleOr("lora_alpha", d.loraAlpha);
            d.loraDropout = c.doubleOr("lora_dropout", d.loraDropout);
            d.targetModules = moduleSpec(root.get("target_modules"), "target_modules", true);
            d.excludeModules = moduleSpec(root.get("exclude_modules"), "exclude_modules", false);
            d.layersToTransform = ints(root.get("layers_to_transform"));
            d.layersPattern = strings(root.get("layers_pattern"), "layers_pattern", true);
            d.bias = LoraConfig.Bias.fromPeft(c.stringOr("bias", "none"));
            d.useRslora = c.boolOr("use_rslora", false);
            d.useDora = c.boolOr("use_dora", false);
            d.rankPattern = numbers(root.get("rank_pattern"), "rank_pattern", true);
            d.alphaPattern = numbers(root.get("alpha_pattern"), "alpha_pattern", false);
            d.initLoraWeights = init(root.get("init_lora_weights"));
            d.pissaNiter = d.initLoraWeights == LoraConfig.Init.PISSA_NITER ? pissaNiter(root.get("init_lora_weights").textValue()) : 0;
            d.fanInFanOut = c.boolOr("fan_in_fan_out", false);
            d.modulesToSave = strings(root.get("modules_to_save"), "modules_to_save", false);
            d.taskType = c.stringOr("task_type", null);
            d.baseModelNameOrPath = c.stringOr("base_model_name_or_path", null);
            return d.build();
        } catch (Lora4jException e) {
            throw e.getMessage().startsWith(src + ": ") ? e : new Lora4jException(src + ": " + e.getMessage(), e);
        }
    }

    private static ModuleSpec moduleSpec(JsonNode v, String field, boolean allowAllLinear) {
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return allowAllLinear ? ModuleSpec.of(v.textValue()) : new ModuleSpec.Regex(v.textValue());
        if (v.isArray()) return new ModuleSpec.Names(strings(v, field, false));
        throw wrongType(field, v, "a list of module names or a regex string");
    }

    /** A list of strings; with {@code oneStringIsList} a single string is a one-element list ("" means none). */
    private static List<String> strings(JsonNode v, String field, boolean oneStringIsList) {
        if (v == null || v.isNull()) return null;
        if (oneStringIsList && v.isTextual()) return v.textValue().isEmpty() ? List.of() : List.of(v.textValue());
        if (!v.isArray()) throw wrongType(field, v, "a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw wrongType(field, v, "a list of strings");
            out.add(e.textValue());
        }
        return out;
    }

    /** layers_to_transform: null, one int, or a list of ints. */
    private static List<Integer> ints(JsonNode v) {
        if (v == null || v.isNull()) return null;
        if (v.isIntegralNumber() && v.canConvertToInt()) return List.of(v.intValue());
        if (!v.isArray()) throw wrongType("layers_to_transform", v, "an integer or a list of integers");
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) throw wrongType("layers_to_transform", v, "a list of integers");
            out.add(e.intValue());
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static <V> Map<String, V> numbers(JsonNode v, String field, boolean integers) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (v == null || v.isNull()) return (Map<String, V>) out;
        if (!v.isObject()) throw wrongType(field, v, "an object of module patterns to numbers");
        for (var e : v.properties()) {
            JsonNode n = e.getValue();
            if (integers && !(n.isIntegralNumber() && n.canConvertToInt())) throw wrongType(field + "['" + e.getKey() + "']", n, "an integer");
            if (!n.isNumber()) throw wrongType(field + "['" + e.getKey() + "']", n, "a number");
            out.put(e.getKey(), integers ? (Object) n.intValue() : (Object) n.doubleValue());
        }
        return (Map<String, V>) out;
    }

    private static LoraConfig.Init init(JsonNode v) {
        if (v == null || v.isNull()) return LoraConfig.Init.DEFAULT;
        if (v.isBoolean()) return v.booleanValue() ? LoraConfig.Init.DEFAULT : LoraConfig.Init.RANDOM;
        if (v.isTextual() && v.textValue().toLowerCase(Locale.ROOT).equals("gaussian")) return LoraConfig.Init.GAUSSIAN;
        if (v.isTextual() && v.textValue().equals("pissa")) return LoraConfig.Init.PISSA;
        if (v.isTextual() && v.textValue().matches(PISSA_NITER)) return LoraConfig.Init.PISSA_NITER;
        if (v.isTextual()) {
            throw new Lora4jException("field 'init_lora_weights' is " + v + ": that initialisation is not supported by lora4j"
                    + " (supported: true, false, \"gaussian\", \"pissa\", \"pissa_niter_K\")");
        }
        throw wrongType("init_lora_weights", v, "true, false, \"gaussian\", \"pissa\" or \"pissa_niter_K\"");
    }

    /** {@code c} with init_lora_weights given as text, PEFT's values spelled as in JSON: true, false, gaussian, pissa, pissa_niter_K. */
    static LoraConfig withInit(LoraConfig c, String value) {
        JsonNode v = value.equals("true") || value.equals("false") ? BooleanNode.valueOf(value.equals("true")) : TextNode.valueOf(value);
        LoraConfig.Init init = init(v);
        return init == LoraConfig.Init.PISSA_NITER ? c.withPissaNiter(pissaNiter(value)) : c.withInit(init);
    }

    private static int pissaNiter(String value) {
        return Integer.parseInt(value.substring("pissa_niter_".length()));
    }

    private static Lora4jException wrongType(String field, JsonNode v, String expected) {
        String shown = v.toString().length() <= 60 ? v.toString() : v.toString().substring(0, 57) + "...";
        String kind = v.getNodeType().name().toLowerCase(Locale.ROOT);
        return new Lora4jException("field '" + field + "' is " + kind + " " + shown + ", expected " + expected);
    }

    static String write(LoraConfig c) {
        Map<String, Object> m = new TreeMap<>();
        Map<String, Object> alphas = new LinkedHashMap<>();
        c.alphaPattern().forEach((k, a) -> alphas.put(k, intIfWhole(a)));
        m.put("alpha_pattern", alphas);
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", c.baseModelNameOrPath());
        m.put("bias", c.bias().peftName());
        m.put("exclude_modules", c.excludeModules() == null ? null : c.excludeModules().jsonValue());
        m.put("fan_in_fan_out", c.fanInFanOut());
        m.put("inference_mode", true);
        m.put("init_lora_weights", c.initPeftValue());
        m.put("layer_replication", null);
        m.put("layers_pattern", c.layersPattern());
        m.put("layers_to_transform", c.layersToTransform());
        m.put("loftq_config", Map.of());
        m.put("lora_alpha", intIfWhole(c.loraAlpha()));
        m.put("lora_bias", false);
        m.put("lora_dropout", c.loraDropout());
        m.put("megatron_config", null);
        m.put("megatron_core", "megatron.core");
        m.put("modules_to_save", c.modulesToSave());
        m.put("peft_type", "LORA");
        m.put("r", c.r());
        m.put("rank_pattern", c.rankPattern());
        m.put("revision", null);
        m.put("target_modules", c.targetModules() == null ? null : c.targetModules().jsonValue());
        m.put("task_type", c.taskType());
        m.put("use_dora", c.useDora());
        m.put("use_rslora", c.useRslora());
        StringBuilder out = new StringBuilder();
        value(out, m, 0);
        return out.toString();
    }

    /** Python's json.dumps(indent=2, sort_keys=True) layout: nested keys sorted too, "[]" and "{}" when empty. */
    private static void value(StringBuilder out, Object v, int depth) {
        switch (v) {
            case null -> out.append("null");
            case String s -> quote(out, s);
            case Boolean b -> out.append(b);
            case Integer i -> out.append(i);
            case Long l -> out.append(l);
            case Double d -> out.append(pythonFloat(d));
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                String sep = "{";
                for (var e : new TreeMap<>(map).entrySet()) {
                    out.append(sep).append('\n').append("  ".repeat(depth + 1));
                    quote(out, (String) e.getKey());
                    out.append(": ");
                    value(out, e.getValue(), depth + 1);
                    sep = ",";
                }
                out.append('\n').append("  ".repeat(depth)).append('}');
            }
            case List<?> list -> {
                if (list.isEmpty()) {
                    out.append("[]");
                    return;
                }
                String sep = "[";
                for (Object e : list) {
                    out.append(sep).append('\n').append("  ".repeat(depth + 1));
                    value(out, e, depth + 1);
                    sep = ",";
                }
                out.append('\n').append("  ".repeat(depth)).append(']');
            }
            default -> throw new IllegalStateException("cannot write " + v.getClass());
        }
    }

    /** PEFT's lora_alpha is an int: whole values are written as ints, others as floats. */
    private static Object intIfWhole(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? (Object) (long) d : (Object) d;
    }

    /** repr(float): shortest round-trip digits, fixed notation for exponents -4..15 (with ".0"), else 1.5e-07. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale();
        String sign = d < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = bd.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    /** A JSON string with ensure_ascii: everything outside printable ASCII as a lower-case \\uXXXX escape. */
    private static void quote(StringBuilder out, String s) {
        out.append('"');
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (ch < 0x20 || ch > 0x7e) out.append(String.format("\\u%04x", (int) ch));
                    else out.append(ch);
                }
            }
        }
        out.append('"');
    }
}
