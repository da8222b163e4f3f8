// A TensorProto of an ONNX file (an initializer or a Constant node's value): name, type, dims and
// where its values lie in the file; values are decoded on demand. Follows onnx.proto3 `TensorProto`:
// values in raw_data (little-endian) or in the typed field of the data type (float_data = 4, ...).
package dev.lora4j.onnx;

import com.google.protobuf.CodedInputStream;
import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Immutable; {@link #floats()} and {@link #longs()} return fresh arrays. */
public final class OnnxTensor {
    /** Which TensorProto field holds the values. */
    enum Storage { NONE, RAW, FLOAT_DATA, INT32_DATA, STRING_DATA, INT64_DATA, DOUBLE_DATA, UINT64_DATA }

    private final String source;
    private final byte[] file;
    private final String name;
    private final OnnxDataType dataType;
    private final long[] dims;
    private final Storage storage;
    private final ProtoReader.Span payload;

    OnnxTensor(String source, byte[] file, String name, OnnxDataType dataType, long[] dims, Storage storage,
               ProtoReader.Span payload) {
        this.source = source;
        this.file = file;
        this.name = name;
        this.dataType = dataType;
        this.dims = dims.clone();
        this.storage = storage;
        this.payload = payload;
    }

    /** The tensor's name; empty for most Constant node values. */
    public String name() {
        return name;
    }

    public OnnxDataType dataType() {
        return dataType;
    }

    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public long numel() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** The dims as a {@link Shape}; a {@link Lora4jException} if they do not fit Java arrays. */
    public Shape shape() {
        int[] d = new int[dims.length];
        for (int i = 0; i < d.length; i++) {
            if (dims[i] > Integer.MAX_VALUE) throw error("dimension " + dims[i] + " is too large");
            d[i] = (int) dims[i];
        }
        try {
            Shape s = new Shape(d);
            s.size();
            return s;
        } catch (IllegalArgumentException e) {
            throw error(e.getMessage());
        }
    }

    /** The values of a FLOAT, FLOAT16, BFLOAT16 or DOUBLE tensor as float32, row-major. */
    public float[] floats() {
        if (!dataType.isFloat()) throw error("is " + dataType + ", not a floating-point tensor");
        float[] out = new float[shape().size()];
        if (out.length == 0) return out;
        ByteBuffer buf = ByteBuffer.wrap(file, payload.offset(), payload.length()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dataType) {
            case FLOAT -> buf.asFloatBuffer().get(out);
            case DOUBLE -> {
                for (int i = 0; i < out.length; i++) out[i] = (float) buf.getDouble();
            }
            default -> {
                boolean bf16 = dataType == OnnxDataType.BFLOAT16;
                long[] bits = storage == Storage.RAW ? null : varints(out.length);
                for (int i = 0; i < out.length; i++) {
                    short b = bits == null ? buf.getShort() : (short) bits[i];
                    out[i] = bf16 ? Float.intBitsToFloat((b & 0xFFFF) << 16) : Float.float16ToFloat(b);
                }
            }
        }
        return out;
    }

    /** The values of an integer or BOOL tensor (UINT64 values above Long.MAX_VALUE wrap), row-major. */
    public long[] longs() {
        if (!dataType.isInteger()) throw error("is " + dataType + ", not an integer tensor");
        int n = shape().size();
        if (storage != Storage.RAW) return storage == Storage.NONE ? new long[0] : varints(n);
        ByteBuffer buf = ByteBuffer.wrap(file, payload.offset(), payload.length()).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (dataType) {
                case INT8 -> buf.get();
                case UINT8, BOOL -> buf.get() & 0xFFL;
                case INT16 -> buf.getShort();
                case UINT16 -> buf.getShort() & 0xFFFFL;
                case INT32 -> buf.getInt();
                case UINT32 -> buf.getInt() & 0xFFFFFFFFL;
                default -> buf.getLong();
            };
        }
        return out;
    }

    /** A float32 {@link Tensor} of the values, shaped as the dims. */
    public Tensor toTensor() {
        return new Tensor(shape(), floats());
    }

    Storage storage() {
        return storage;
    }

    /** Where the values lie in the file (for RAW and the packed fields). */
    ProtoReader.Span payload() {
        return payload;
    }

    /** The number of varints in the payload (a packed int32/int64/uint64 field). */
    int countVarints() throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(file, payload.offset(), payload.length());
        int n = 0;
        for (; !in.isAtEnd(); n++) in.readRawVarint64();
        return n;
    }

    private long[] varints(int n) {
        CodedInputStream in = CodedInputStream.newInstance(file, payload.offset(), payload.length());
        long[] out = new long[n];
        try {
            for (int i = 0; i < n; i++) {
                out[i] = storage == Storage.INT32_DATA ? in.readInt32() : in.readRawVarint64();
            }
        } catch (IOException e) {
            throw error("cannot decode its values: " + e.getMessage());
        }
        return out;
    }

    private Lora4jException error(String what) {
        return new Lora4jException(source + ": tensor '" + name + "' " + Arrays.toString(dims) + " " + what);
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + name + ", " + dataType + " " + Arrays.toString(dims) + "]";
    }
}
