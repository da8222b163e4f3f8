package dev.lora4j.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.ZonedDateTime;
import java.util.Locale;
import java.util.Map;

/**
 * HubSpot jinjava set up as the Jinja environment of HF transformers' {@code apply_chat_template}
 * ({@code chat_template_utils._compile_jinja_template}): trim_blocks and lstrip_blocks, Python operator
 * precedence ({@code a + b | trim} filters {@code b} only), the {@code -} whitespace control on expressions
 * and comments too, loop controls, {@code raise_exception}, {@code strftime_now}, a {@code tojson} that writes
 * what Python's {@code json.dumps(ensure_ascii=False)} writes, and the {@code generation} block (transformers'
 * {@code AssistantTracker}) as a pass-through. Python's string methods ({@code startswith}, ...) are not
 * provided: a template calling one fails with a clear error.
 */
final class HfJinja {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The longest rendering and the longest string a template may build (characters): a template that doubles a string 30 times ran out of memory. */
    static final long MAX_CHARS = 16L << 20;

    private HfJinja() {}

    /** What {@code raise_exception(message)} throws; jinjava wraps it, {@link ChatTemplate} unwraps it. */
    static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message);
        }
    }

    static Jinjava environment() {
        LegacyOverrides python = LegacyOverrides.newBuilder()
                .withEvaluateMapKeys(true)
                .withIterateOverMapKeys(true)
                .withUsePyishObjectMapper(true)
                .withUseNaturalOperatorPrecedence(true)
                .withParseWhitespaceControlStrictly(true)
                .withAllowAdjacentTextNodes(true)
                .withUseTrimmingForNotesAndExpressions(true)
                .withKeepNullableLoopValues(true)
                .build(); // all of jinjava's Python-like behaviours but WhitespaceRequiredWithinTokens, which breaks "{%-"
        Jinjava jinja = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(python)
                .withMaxOutputSize(MAX_CHARS)
                .withMaxStringLength(MAX_CHARS)
                .build());
        global(jinja, "raise_exception", "raiseException");
        global(jinja, "strftime_now", "strftimeNow");
        jinja.registerFilter(new ToJson());
        jinja.registerTag(new Generation());
        return jinja;
    }

    /** A function templates call, and a variable so that {@code name is defined} holds, as for a Jinja global. */
    private static void global(Jinjava jinja, String name, String method) {
        try {
            Method m = HfJinja.class.getDeclaredMethod(method, String.class);
            m.setAccessible(true); // jinjava invokes it reflectively from its own package
            jinja.registerFunction(new ELFunctionDefinition("", name, m));
            jinja.getGlobalContext().put(name, m);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String raiseException(String message) {
        throw new Raised(message);
    }

    private static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.ENGLISH);
    }

    /** {@code tojson(indent=None)} as HF defines it: {@code json.dumps} with Python's separators, non-ASCII kept. */
    private static final class ToJson implements AdvancedFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.get("indent");
            StringBuilder out = new StringBuilder();
            write(value, indent == null ? -1 : ((Number) indent).intValue(), 0, out);
            return out.toString();
        }
    }

    /** Python's {@code json.dumps(value, ensure_ascii=False, indent=indent)}; indent −1 is None. */
    private static void write(Object value, int indent, int level, StringBuilder out) {
        String itemSep = indent < 0 ? ", " : ",";
        if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(first ? "" : itemSep);
                first = false;
                newline(indent, level + 1, out);
                out.append(string(String.valueOf(e.getKey()))).append(": ");
                write(e.getValue(), indent, level + 1, out);
            }
            newline(indent, level, out);
            out.append('}');
        } else if (value instanceof Iterable<?> list) {
            if (!list.iterator().hasNext()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (Object item : list) {
                out.append(first ? "" : itemSep);
                first = false;
                newline(indent, level + 1, out);
                write(item, indent, level + 1, out);
            }
            newline(indent, level, out);
            out.append(']');
        } else if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof Number n) {
            out.append(pythonFloat(n.doubleValue()));
        } else {
            out.append(string(value.toString()));
        }
    }

    private static void newline(int indent, int level, StringBuilder out) {
        if (indent >= 0) out.append('\n').append(" ".repeat(indent * level));
    }

    private static String string(String s) {
        try {
            return JSON.writeValueAsString(s); // the same escapes as json.dumps(ensure_ascii=False)
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Python's {@code repr(float)}: shortest digits, positional for exponents −4..15, else {@code 1e-05}. */
    private static String pythonFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        String sign = (d < 0 || 1 / d < 0) ? "-" : "";
        BigDecimal b = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        if (b.signum() == 0) return sign + "0.0";
        int exp = b.precision() - b.scale() - 1;
        if (exp >= -4 && exp < 16) {
            String plain = b.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String digits = b.unscaledValue().toString();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    /** transformers' {@code AssistantTracker} block: marks assistant text for its own masks; here it only renders. */
    private static final class Generation implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) out.append(child.render(interpreter).getValue());
            return out.toString();
        }
    }
}
