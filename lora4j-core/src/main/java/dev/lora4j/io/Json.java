// The one Jackson setup for files lora4j reads (configs, headers, JSONL data): strict parsing (duplicate keys
// and trailing content are errors) and error messages that name the source and Jackson's line and column.
// Non-numeric numbers (NaN, Infinity) are parsed because Python's json module writes them; the fields that
// must be finite say so when they are read (HfConfig).
package dev.lora4j.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Strict JSON reading for lora4j's inputs: duplicate keys and trailing content are errors naming the file, line and column. */
public final class Json {
    static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {}

    /** Parses a JSON document whose root must be an object; {@code what} names it in errors ("header"). */
    static JsonNode parseObject(byte[] json, String source, String what) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JacksonException e) {
            throw new Lora4jException(source + ": " + what + " is not valid JSON" + where(e) + ": "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new Lora4jException(source + ": cannot parse " + what + ": " + e.getMessage(), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new Lora4jException(source + ": " + what + " is empty, expected a JSON object");
        }
        if (!root.isObject()) {
            throw new Lora4jException(source + ": " + what + " is " + describe(root) + ", expected a JSON object");
        }
        return root;
    }

    /** Reads and parses a JSON file whose root must be an object; {@code what} names it in errors ("tokenizer config"). */
    public static JsonNode readObject(Path file, String what) {
        return parseObject(readAll(file), file.toString(), what);
    }

    /**
     * One line of a JSON Lines file ({@code where} is "file:line"): exactly one JSON value, strictly parsed (a
     * duplicate key or a second value on the line is an error, not silently dropped).
     */
    public static JsonNode parseLine(String line, String where) {
        try (JsonParser parser = MAPPER.createParser(line)) {
            JsonNode node = MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(parser);
            if (parser.nextToken() != null) {
                throw new Lora4jException(where + ": a second JSON value starts at column " + parser.currentTokenLocation().getColumnNr()
                        + " (expected one JSON object per line)");
            }
            return node;
        } catch (JacksonException e) {
            JsonLocation loc = e.getLocation();
            String column = loc == null || loc.getColumnNr() < 0 ? "" : " at column " + loc.getColumnNr();
            throw new Lora4jException(where + ": not valid JSON" + column + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new Lora4jException(where + ": cannot parse: " + e.getMessage(), e);
        }
    }

    /** The whole content of a regular file; a missing file is a {@link Lora4jException} that says "not found". */
    static byte[] readAll(Path file) {
        InputFile.requireRegular(file, "a JSON file");
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Lora4jException(file + ": not found", e);
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A short description of a node for error messages: {@code a string "768"}, {@code an array}. */
    public static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) return "nothing";
        if (node.isNull()) return "null";
        if (node.isTextual()) return "a string " + node;
        if (node.isBoolean()) return "a boolean " + node;
        if (node.isIntegralNumber()) return "an integer " + node;
        if (node.isNumber()) return "a number " + node;
        if (node.isArray()) return "an array " + abbreviate(node.toString());
        return "an object " + abbreviate(node.toString());
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private static String where(JacksonException e) {
        JsonLocation loc = e.getLocation();
        if (loc == null || loc.getLineNr() < 0) return "";
        return " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }
}
