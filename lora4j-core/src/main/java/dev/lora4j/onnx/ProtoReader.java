// Reads the protobuf wire format field by field from a whole file held in memory, for the ONNX
// messages (no generated classes). Follows the protobuf encoding spec: a tag is (field << 3 | wire
// type); nested messages, strings, bytes and packed repeated scalars are length-delimited.
package dev.lora4j.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.List;

/**
 * A cursor over one file. Field readers check the wire type the schema expects; a nested message is
 * read between {@link #enter} and {@link #exit}. Every failure is an {@link IOException} (this class's
 * own, naming the field, or protobuf's for malformed input), which the ONNX reader turns into a
 * {@link dev.lora4j.Lora4jException} naming the file and where in it.
 */
final class ProtoReader {
    /** A length-delimited payload: {@code length} bytes at {@code offset} in the file. */
    record Span(int offset, int length) {}

    private static final List<String> WIRE_TYPE_NAMES =
            List.of("varint", "fixed64", "length-delimited", "start group", "end group", "fixed32");

    private final CodedInputStream in;
    private final int fileLength;
    private int tag;
    /** The first nested message found to run past its parent's end, if any (see {@link #enter}). */
    private String truncation;

    ProtoReader(byte[] file) {
        this.in = CodedInputStream.newInstance(file);
        this.fileLength = file.length;
    }

    /** The number of the next field in the current message, or 0 at its end. */
    int next() throws IOException {
        tag = in.readTag();
        return WireFormat.getTagFieldNumber(tag);
    }

    int wireType() {
        return WireFormat.getTagWireType(tag);
    }

    void skip() throws IOException {
        in.skipField(tag);
    }

    long int64(String field) throws IOException {
        expect(WireFormat.WIRETYPE_VARINT, field);
        return in.readInt64();
    }

    int int32(String field) throws IOException {
        expect(WireFormat.WIRETYPE_VARINT, field);
        return in.readInt32();
    }

    float float32(String field) throws IOException {
        expect(WireFormat.WIRETYPE_FIXED32, field);
        return in.readFloat();
    }

    String string(String field) throws IOException {
        expect(WireFormat.WIRETYPE_LENGTH_DELIMITED, field);
        return in.readStringRequireUtf8();
    }

    /** A bytes field (or a packed repeated scalar) as a span of the file, without copying it. */
    Span bytes(String field) throws IOException {
        expect(WireFormat.WIRETYPE_LENGTH_DELIMITED, field);
        int length = in.readRawVarint32();
        if (length < 0 || length > remaining()) {
            throw new IOException(field + " claims " + length + " bytes but only " + remaining() + " remain (truncated file?)");
        }
        int offset = in.getTotalBytesRead();
        in.skipRawBytes(length);
        return new Span(offset, length);
    }

    /** One or more values of a repeated int64 field, packed or not, appended to {@code out}. */
    void int64s(String field, List<Long> out) throws IOException {
        if (wireType() == WireFormat.WIRETYPE_VARINT) {
            out.add(in.readInt64());
            return;
        }
        int limit = enter(field);
        while (!in.isAtEnd()) out.add(in.readInt64());
        exit(limit);
    }

    /** One or more values of a repeated float field, packed or not, appended to {@code out}. */
    void float32s(String field, List<Float> out) throws IOException {
        if (wireType() == WireFormat.WIRETYPE_FIXED32) {
            out.add(in.readFloat());
            return;
        }
        int limit = enter(field);
        while (!in.isAtEnd()) out.add(in.readFloat());
        exit(limit);
    }

    /**
     * Starts reading a nested message; returns the token to pass to {@link #exit}. A message that claims
     * more bytes than remain (a truncated file) is read up to the end, so that the error names the
     * innermost field cut short; {@link #truncation()} reports it if nothing else failed.
     */
    int enter(String field) throws IOException {
        expect(WireFormat.WIRETYPE_LENGTH_DELIMITED, field);
        int length = in.readRawVarint32();
        int remaining = remaining();
        if (length < 0) throw new IOException(field + " has a negative length " + length);
        if (length > remaining && truncation == null) {
            truncation = field + " claims " + length + " bytes but only " + remaining + " remain (truncated file?)";
        }
        return in.pushLimit(Math.min(length, remaining));
    }

    /** Why the file looks truncated, or null. */
    String truncation() {
        return truncation;
    }

    /** Ends a nested message once {@link #next} returned 0. */
    void exit(int token) {
        in.popLimit(token);
    }

    /** Bytes left in the current message (the file, at the top level). */
    private int remaining() {
        int untilLimit = in.getBytesUntilLimit();
        return untilLimit < 0 ? fileLength - in.getTotalBytesRead() : untilLimit;
    }

    private void expect(int wireType, String field) throws IOException {
        if (wireType() != wireType) {
            throw new IOException(field + " has wire type " + wireType() + ", expected " + wireType
                    + " (" + WIRE_TYPE_NAMES.get(wireType) + ")");
        }
    }
}
