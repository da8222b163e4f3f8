// A Hugging Face `config.json` with typed accessors whose errors name the file and the field.
// Follows transformers' PretrainedConfig JSON: a flat object of snake_case fields, where an absent
// field and an explicit null both mean "not set".
package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Model families map it to their config records; {@link #raw()} reaches nested objects. */
public final class HfConfig {
    private final JsonNode root;
    private final String source;

    private HfConfig(JsonNode root, String source) {
        this.root = root;
        this.source = source;
    }

    /** Reads a config file (usually {@code <model dir>/config.json}). */
    public static HfConfig read(Path file) {
        return new HfConfig(Json.readObject(file, "config"), file.toString());
    }

    /** Parses {@code json}; {@code sourceName} names it in error messages. */
    public static HfConfig parse(String json, String sourceName) {
        return new HfConfig(Json.parseObject(json.getBytes(StandardCharsets.UTF_8), sourceName, "config"), sourceName);
    }

    /** Where the config came from, as used in error messages. */
    public String source() {
        return source;
    }

    /** The parsed JSON object, for nested or unusual fields. */
    public JsonNode raw() {
        return root;
    }

    /** Whether {@code field} is present and not null. */
    public boolean has(String field) {
        JsonNode node = root.get(field);
        return node != null && !node.isNull();
    }

    /** The required {@code model_type} field ("gpt2", "llama", ...). */
    public String modelType() {
        return requireString("model_type");
    }

    public String requireString(String field) {
        JsonNode node = require(field, "a string");
        if (!node.isTextual()) throw wrongType(field, node, "a string");
        return node.textValue();
    }

    public int requireInt(String field) {
        JsonNode node = require(field, "an integer");
        if (!node.isIntegralNumber()) throw wrongType(field, node, "an integer");
        if (!node.canConvertToInt()) {
            throw new Lora4jException(source + ": field '" + field + "' is " + node.asText() + ", out of range (expected an integer in ["
                    + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "])");
        }
        return node.intValue();
    }

    /** A size or count: an integer in [1, 2147483647]. */
    public int positiveInt(String field) {
        JsonNode node = require(field, "a positive integer");
        if (!node.isIntegralNumber()) throw wrongType(field, node, "a positive integer");
        if (!node.canConvertToInt() || node.intValue() <= 0) throw outOfRange(field, node, "a positive integer (1 to " + Integer.MAX_VALUE + ")");
        return node.intValue();
    }

    public int positiveIntOr(String field, int dflt) {
        return has(field) ? positiveInt(field) : dflt;
    }

    /** An integer in [0, 2147483647]. */
    public int nonNegativeIntOr(String field, int dflt) {
        if (!has(field)) return dflt;
        JsonNode node = root.get(field);
        if (!node.isIntegralNumber()) throw wrongType(field, node, "a non-negative integer");
        if (!node.canConvertToInt() || node.intValue() < 0) throw outOfRange(field, node, "a non-negative integer (0 to " + Integer.MAX_VALUE + ")");
        return node.intValue();
    }

    /** A finite number > 0 (an epsilon, a base frequency). */
    public double positiveDoubleOr(String field, double dflt) {
        double v = doubleOr(field, dflt);
        if (!(v > 0) || Double.isInfinite(v)) throw outOfRange(field, root.get(field), "a positive finite number");
        return v;
    }

    /** A finite number ≥ 0 (a standard deviation). */
    public double nonNegativeDoubleOr(String field, double dflt) {
        double v = doubleOr(field, dflt);
        if (!(v >= 0) || Double.isInfinite(v)) throw outOfRange(field, root.get(field), "a finite number ≥ 0");
        return v;
    }

    /** A dropout probability, in [0, 1). */
    public double probabilityOr(String field, double dflt) {
        double v = doubleOr(field, dflt);
        if (!(v >= 0 && v < 1)) throw outOfRange(field, root.get(field), "a probability in [0, 1)");
        return v;
    }

    /** A number; integers are accepted ({@code "rope_theta": 10000}). */
    public double requireDouble(String field) {
        JsonNode node = require(field, "a number");
        if (!node.isNumber()) throw wrongType(field, node, "a number");
        return node.doubleValue();
    }

    public int intOr(String field, int dflt) {
        return has(field) ? requireInt(field) : dflt;
    }

    public double doubleOr(String field, double dflt) {
        return has(field) ? requireDouble(field) : dflt;
    }

    public String stringOr(String field, String dflt) {
        return has(field) ? requireString(field) : dflt;
    }

    public boolean boolOr(String field, boolean dflt) {
        if (!has(field)) return dflt;
        JsonNode node = root.get(field);
        if (!node.isBoolean()) throw wrongType(field, node, "true or false");
        return node.booleanValue();
    }

    private JsonNode require(String field, String expected) {
        JsonNode node = root.get(field);
        if (node == null) {
            throw new Lora4jException(source + ": missing required field '" + field + "' (expected " + expected + ")");
        }
        if (node.isNull()) {
            throw new Lora4jException(source + ": field '" + field + "' is null, expected " + expected);
        }
        return node;
    }

    private Lora4jException outOfRange(String field, JsonNode node, String expected) {
        boolean tooLarge = node.isIntegralNumber() && !node.canConvertToInt();
        return new Lora4jException(source + ": field '" + field + "' is " + (node.isNumber() ? node.asText() : node.toString())
                + (tooLarge ? ", out of range" : "") + ", expected " + expected);
    }

    private Lora4jException wrongType(String field, JsonNode node, String expected) {
        return new Lora4jException(source + ": field '" + field + "' is " + Json.describe(node) + ", expected " + expected);
    }

    @Override
    public String toString() {
        return "HfConfig[" + source + "]";
    }
}
