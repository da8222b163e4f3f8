// Parses and validates the whole header of a safetensors file before any tensor is read.
// Follows huggingface/safetensors `SafeTensors::read_metadata` and `Metadata::validate` (0.8), except
// that gaps between tensors and trailing bytes are tolerated: only overlaps and overruns are errors.
package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A validated header: tensors sorted by name, the {@code __metadata__} map, and where the data block
 * starts in the file ({@code 8 + N}).
 */
record SafetensorsHeader(long dataStart, long dataSize, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    /** The largest header the reference implementation accepts. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Validates the header of {@code file}, the whole mapped file; {@code source} names it in errors. */
    static SafetensorsHeader parse(MemorySegment file, String source) {
        long fileSize = file.byteSize();
        if (fileSize < 8) {
            throw new Lora4jException(source + ": file is " + fileSize
                    + " bytes, too short for a safetensors file (it starts with an 8-byte header length)");
        }
        long n = file.get(U64_LE, 0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new Lora4jException(source + ": header length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes: not a safetensors file");
        }
        if (8 + n > fileSize) {
            throw new Lora4jException(source + ": header length " + n + " runs past the end of the file ("
                    + fileSize + " bytes): the file is truncated or not safetensors");
        }
        byte[] json = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root = Json.parseObject(json, source, "header");
        long dataSize = fileSize - 8 - n;

        Map<String, String> metadata = Map.of();
        Map<String, TensorInfo> tensors = new TreeMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            if (key.equals(METADATA_KEY)) {
                metadata = parseMetadata(field.getValue(), source);
            } else {
                tensors.put(key, parseEntry(key, field.getValue(), dataSize, source));
            }
        }
        checkNoOverlap(tensors.values(), source);
        return new SafetensorsHeader(8 + n, dataSize, Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> parseMetadata(JsonNode node, String source) {
        if (node.isNull()) return Map.of();
        if (!node.isObject()) {
            throw new Lora4jException(source + ": " + METADATA_KEY + " is " + Json.describe(node)
                    + ", expected an object of string values");
        }
        Map<String, String> metadata = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new Lora4jException(source + ": " + METADATA_KEY + " key '" + e.getKey() + "' is "
                        + Json.describe(e.getValue()) + ", expected a string");
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static TensorInfo parseEntry(String name, JsonNode node, long dataSize, String source) {
        String where = source + ": tensor '" + name + "': ";
        if (!node.isObject()) {
            throw new Lora4jException(where + "expected an object with dtype, shape and data_offsets, found "
                    + Json.describe(node));
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new Lora4jException(where + "dtype is " + Json.describe(dtypeNode) + ", expected a string such as \"F32\"");
        }
        DType dtype = DType.fromName(dtypeNode.textValue()).orElseThrow(() -> new Lora4jException(
                where + "unknown dtype '" + dtypeNode.textValue() + "' (known: " + Arrays.toString(DType.values()) + ")"));
        long[] shape = nonNegativeLongs(node.get("shape"), -1, where + "shape");
        long[] offsets = nonNegativeLongs(node.get("data_offsets"), 2, where + "data_offsets");
        long begin = offsets[0];
        long end = offsets[1];
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw new Lora4jException(where + range + " begin after end");
        }
        if (end > dataSize) {
            throw new Lora4jException(where + range + " run past the end of the data block (" + dataSize
                    + " bytes): the file is truncated or the header is wrong");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long needed;
        try {
            needed = dtype.byteLength(info.numel());
        } catch (ArithmeticException e) {
            throw new Lora4jException(where + "shape " + Arrays.toString(shape) + " is too large (its size overflows)");
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(where + "shape " + Arrays.toString(shape) + ": " + e.getMessage());
        }
        if (end - begin != needed) {
            throw new Lora4jException(where + range + " hold " + (end - begin) + " bytes but shape "
                    + Arrays.toString(shape) + " × " + dtype + " needs " + needed);
        }
        return info;
    }

    /** An array of non-negative integers; {@code length} -1 means any length. */
    private static long[] nonNegativeLongs(JsonNode node, int length, String what) {
        String expected = length < 0 ? "an array of non-negative integers"
                : "an array of " + length + " non-negative integers";
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new Lora4jException(what + " is " + Json.describe(node) + ", expected " + expected);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new Lora4jException(what + " " + node + " has " + Json.describe(v) + " at index " + i
                        + ", expected " + expected);
            }
            values[i] = v.longValue();
        }
        return values;
    }

    /** Empty tensors occupy no bytes and overlap nothing; the others must not share a byte. */
    private static void checkNoOverlap(Iterable<TensorInfo> tensors, String source) {
        List<TensorInfo> byBegin = new ArrayList<>();
        for (TensorInfo t : tensors) {
            if (t.byteLength() > 0) byBegin.add(t);
        }
        byBegin.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < byBegin.size(); i++) {
            TensorInfo prev = byBegin.get(i - 1);
            TensorInfo next = byBegin.get(i);
            if (next.begin() < prev.end()) {
                throw new Lora4jException(source + ": tensor '" + next.name() + "': data_offsets [" + next.begin()
                        + ", " + next.end() + "] overlap those of tensor '" + prev.name() + "' [" + prev.begin() + ", "
                        + prev.end() + "]");
            }
        }
    }
}
