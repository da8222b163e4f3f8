// Typed reads of a request's JSON fields: a field of the wrong type or out of range is a 400 that names it.
package dev.lora4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.Json;
import java.util.ArrayList;
import java.util.List;

/** Absent and JSON null read as "not given" everywhere, as OpenAI's API treats them. */
final class Fields {
    private final ObjectNode body;

    Fields(ObjectNode body) {
        this.body = body;
    }

    boolean has(String name) {
        JsonNode n = body.get(name);
        return n != null && !n.isNull();
    }

    JsonNode get(String name) {
        JsonNode n = body.get(name);
        return n == null || n.isNull() ? null : n;
    }

    String requiredString(String name) {
        JsonNode n = get(name);
        if (n == null) throw bad(name, "'" + name + "' is required");
        if (!n.isTextual()) throw wrongType(name, n, "a string");
        return n.asText();
    }

    String string(String name, String fallback) {
        JsonNode n = get(name);
        if (n == null) return fallback;
        if (!n.isTextual()) throw wrongType(name, n, "a string");
        return n.asText();
    }

    boolean bool(String name, boolean fallback) {
        JsonNode n = get(name);
        if (n == null) return fallback;
        if (!n.isBoolean()) throw wrongType(name, n, "a boolean");
        return n.asBoolean();
    }

    /** An integer in [min, max], or {@code fallback} when absent. */
    long integer(String name, long fallback, long min, long max) {
        JsonNode n = get(name);
        if (n == null) return fallback;
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw wrongType(name, n, "an integer");
        long v = n.asLong();
        if (v < min || v > max) throw bad(name, "'" + name + "' is " + v + ", expected an integer in [" + min + ", " + max + "]");
        return v;
    }

    /** A number in [min, max] (finite), or {@code fallback} when absent. */
    double number(String name, double fallback, double min, double max) {
        JsonNode n = get(name);
        if (n == null) return fallback;
        if (!n.isNumber()) throw wrongType(name, n, "a number");
        double v = n.asDouble();
        if (!(v >= min && v <= max)) throw bad(name, "'" + name + "' is " + v + ", expected a number in [" + min + ", " + max + "]");
        return v;
    }

    /** A string or a list of strings (a single string is a list of one), or an empty list when absent. */
    List<String> strings(String name, int maxCount) {
        JsonNode n = get(name);
        List<String> out = new ArrayList<>();
        if (n == null) return out;
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) throw wrongType(name, e, "a list of strings");
                out.add(e.asText());
            }
        } else {
            throw wrongType(name, n, "a string or a list of strings");
        }
        if (out.size() > maxCount) throw bad(name, "'" + name + "' has " + out.size() + " entries, at most " + maxCount + " are allowed");
        return out;
    }

    /** A field this server does not implement may be absent, or hold its neutral value ({@code isNeutral}). */
    void unsupported(String name, java.util.function.Predicate<JsonNode> isNeutral, String what) {
        JsonNode n = get(name);
        if (n != null && !isNeutral.test(n)) throw bad(name, "'" + name + "' is not supported by this server (" + what + ")");
    }

    static ApiError bad(String param, String message) {
        return new ApiError(ErrorKind.BAD_REQUEST, message, param);
    }

    static ApiError wrongType(String name, JsonNode n, String expected) {
        return bad(name, "'" + name + "' is " + Json.describe(n) + ", expected " + expected);
    }
}
