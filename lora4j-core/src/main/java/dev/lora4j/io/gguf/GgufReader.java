package dev.lora4j.io.gguf;

import dev.lora4j.Lora4jException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A cursor over a GGUF header (little-endian). Every read checks that its bytes lie inside the file, and every count
 * read from the file is checked against the bytes left before anything is allocated for it; errors name the file,
 * what was being read and where.
 */
final class GgufReader {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment file;
    private final String source;
    private long pos;

    GgufReader(MemorySegment file, String source) {
        this.file = file;
        this.source = source;
    }

    long position() {
        return pos;
    }

    private void need(long n, String what) {
        if (n > file.byteSize() - pos) {
            throw new Lora4jException(source + ": truncated: " + what + " needs " + n + " bytes at byte " + pos + ", the file has " + file.byteSize());
        }
    }

    long u32(String what) {
        need(4, what);
        long v = Integer.toUnsignedLong(file.get(U32, pos));
        pos += 4;
        return v;
    }

    /** A uint64 (negative when above Long.MAX_VALUE; callers bound it). */
    long u64(String what) {
        need(8, what);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    /** A uint64 count of items that take at least {@code minBytes} each: it must fit in the bytes left. */
    long count(String what, long minBytes) {
        long n = u64(what);
        if (n < 0 || n > (file.byteSize() - pos) / minBytes) {
            throw new Lora4jException(source + ": " + what + " is " + Long.toUnsignedString(n) + ", more than the " + (file.byteSize() - pos)
                    + " bytes left in the file can hold");
        }
        return n;
    }

    /** A GGUF string: uint64 length, then that many bytes of UTF-8. */
    String string(String what) {
        long n = u64("the length of " + what);
        if (n < 0 || n > file.byteSize() - pos) {
            throw new Lora4jException(source + ": " + what + " has length " + Long.toUnsignedString(n) + ", past the end of the file (byte " + pos + " of "
                    + file.byteSize() + ")");
        }
        if (n > Integer.MAX_VALUE - 8) throw new Lora4jException(source + ": " + what + " is " + n + " bytes long, more than a string holds");
        byte[] b = file.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new Lora4jException(source + ": " + what + " is not valid UTF-8 (at byte " + (pos - n) + ")");
        }
    }

    /** A typed value: uint32 type, then the value (an array: uint32 element type, uint64 count, the elements). */
    GgufValue value(String what) {
        long id = u32("the type of " + what);
        GgufValueType type = GgufValueType.of(id);
        if (type == null) throw new Lora4jException(source + ": " + what + " has value type " + id + ", which GGUF does not define (0 to 12)");
        if (type != GgufValueType.ARRAY) return new GgufValue(type, null, scalar(type, what));
        long elementId = u32("the element type of " + what);
        GgufValueType element = GgufValueType.of(elementId);
        if (element == null || element == GgufValueType.ARRAY) {
            throw new Lora4jException(source + ": " + what + " is an array of " + (element == null ? "type " + elementId + ", which GGUF does not define" : "arrays, which lora4j does not read"));
        }
        long n = count("the length of " + what, element == GgufValueType.STRING ? 8 : element.size());
        List<Object> values = new ArrayList<>((int) Math.min(n, 1 << 20));
        for (long i = 0; i < n; i++) values.add(scalar(element, what + "[" + i + "]"));
        return new GgufValue(type, element, List.copyOf(values));
    }

    private Object scalar(GgufValueType type, String what) {
        if (type == GgufValueType.STRING) return string(what);
        need(type.size(), what);
        Object v = switch (type) {
            case UINT8 -> (long) (file.get(ValueLayout.JAVA_BYTE, pos) & 0xFF);
            case INT8 -> (long) file.get(ValueLayout.JAVA_BYTE, pos);
            case UINT16 -> (long) (file.get(U16, pos) & 0xFFFF);
            case INT16 -> (long) file.get(U16, pos);
            case UINT32 -> Integer.toUnsignedLong(file.get(U32, pos));
            case INT32 -> (long) file.get(U32, pos);
            case UINT64, INT64 -> file.get(U64, pos);
            case FLOAT32 -> Float.intBitsToFloat(file.get(U32, pos));
            case FLOAT64 -> Double.longBitsToDouble(file.get(U64, pos));
            case BOOL -> {
                byte b = file.get(ValueLayout.JAVA_BYTE, pos);
                if (b != 0 && b != 1) throw new Lora4jException(source + ": " + what + " is a BOOL holding " + b + ", expected 0 or 1");
                yield b == 1;
            }
            default -> throw new IllegalStateException("unreachable: " + type);
        };
        pos += type.size();
        return v;
    }
}
