package dev.lora4j.io.gguf;

import java.util.List;

/**
 * One metadata value of a GGUF file, as typed in the file. {@code value} is a Long (every integer type; a UINT64 above
 * Long.MAX_VALUE is refused when read), Float, Double, Boolean or String; for an ARRAY, a {@code List} of those with
 * {@code elementType} naming their type (null for a scalar).
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
    public static GgufValue string(String s) {
        return new GgufValue(GgufValueType.STRING, null, s);
    }

    public static GgufValue uint32(long v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue int32(long v) {
        return new GgufValue(GgufValueType.INT32, null, v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue array(GgufValueType elementType, List<?> values) {
        return new GgufValue(GgufValueType.ARRAY, elementType, List.copyOf(values));
    }

    /** How the value is named in messages: "UINT32 7", "STRING", "ARRAY of 3 FLOAT32". */
    public String describe() {
        if (type == GgufValueType.ARRAY) return "ARRAY of " + ((List<?>) value).size() + " " + elementType;
        if (type == GgufValueType.STRING) return "STRING";
        return type + " " + value;
    }
}
