// Reads one TensorProto and checks that its values fill exactly its dims.
// Follows onnx.proto3 `TensorProto`: dims = 1, data_type = 2, segment = 3, float_data = 4,
// int32_data = 5, string_data = 6, int64_data = 7, name = 8, raw_data = 9, double_data = 10,
// uint64_data = 11, external_data = 13, data_location = 14; which typed field serves which data_type.
package dev.lora4j.onnx;

import com.google.protobuf.WireFormat;
import dev.lora4j.Lora4jException;
import dev.lora4j.onnx.OnnxTensor.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

final class TensorReader {
    private final ProtoReader r;
    private final byte[] file;
    private final String source;

    TensorReader(ProtoReader r, byte[] file, String source) {
        this.r = r;
        this.file = file;
        this.source = source;
    }

    /** Reads the TensorProto of {@code field}; {@code where} names its place in error messages. */
    OnnxTensor read(String field, String where) throws IOException {
        int token = r.enter(field);
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        Storage storage = Storage.NONE;
        ProtoReader.Span payload = null;
        long strings = 0;
        boolean external = false;
        try {
            for (int f; (f = r.next()) != 0; ) {
                Storage s = storageOf(f);
                if (s != null && storage != Storage.NONE && (s != storage || s != Storage.STRING_DATA)) {
                    throw error(where, name, "has its values in " + fieldName(storage) + " and again in " + fieldName(s));
                }
                if (s != null && r.wireType() != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    throw error(where, name, "has " + fieldName(s) + " unpacked, which is not supported (onnx.proto declares it packed)");
                }
                switch (f) {
                    case 1 -> r.int64s("TensorProto.dims", dims);
                    case 2 -> dataType = r.int32("TensorProto.data_type");
                    case 3 -> throw error(where, name, "is split into segments (TensorProto.segment), which is not supported");
                    case 6 -> {
                        r.bytes("TensorProto.string_data");
                        strings++;
                    }
                    case 8 -> name = r.string("TensorProto.name");
                    case 13 -> {
                        r.skip();
                        external = true;
                    }
                    case 14 -> external |= r.int32("TensorProto.data_location") == 1;
                    default -> {
                        if (s == null) r.skip();
                        else payload = r.bytes("TensorProto." + fieldName(s));
                    }
                }
                if (s != null) storage = s;
            }
        } catch (IOException e) {
            throw new IOException("tensor '" + name + "': " + e.getMessage(), e);
        }
        r.exit(token);
        if (external) {
            throw error(where, name, "keeps its values outside the ONNX file (external data), which is not supported:"
                    + " save the model with its weights inside the file");
        }
        OnnxDataType type = OnnxDataType.fromCode(dataType).orElse(null);
        if (type == null) throw error(where, name, "has an unknown data_type " + dataType);
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        long numel = 1;
        for (long x : d) {
            if (x < 0) throw error(where, name, "has a negative dimension in " + dims);
            try {
                numel = Math.multiplyExact(numel, x);
            } catch (ArithmeticException e) {
                throw error(where, name, "has dims " + dims + " whose product overflows");
            }
        }
        OnnxTensor t = new OnnxTensor(source, file, name, type, d, storage, payload);
        check(t, numel, strings, where);
        return t;
    }

    /** The values must fill exactly {@code numel} elements, in the field that serves the data type. */
    private void check(OnnxTensor t, long numel, long strings, String where) throws IOException {
        Storage storage = t.storage();
        OnnxDataType type = t.dataType();
        if (storage == Storage.NONE) {
            if (numel != 0) throw error(where, t.name(), "has dims " + dimsOf(t) + " but no values");
            return;
        }
        Storage expected = typedField(type);
        if (storage != Storage.RAW && storage != expected) {
            throw error(where, t.name(), "is " + type + " but has its values in " + fieldName(storage)
                    + " (expected raw_data or " + fieldName(expected) + ")");
        }
        if (storage == Storage.RAW && type == OnnxDataType.STRING) {
            throw error(where, t.name(), "is STRING but has raw_data");
        }
        long found, wanted;
        String unit;
        switch (storage) {
            case RAW, FLOAT_DATA, DOUBLE_DATA -> {
                found = t.payload().length();
                try {
                    wanted = type.rawLength(numel);
                } catch (ArithmeticException e) {
                    throw error(where, t.name(), "has dims " + dimsOf(t) + " of " + type + " whose size in bytes overflows");
                }
                unit = "bytes";
            }
            case STRING_DATA -> {
                found = strings;
                wanted = numel;
                unit = "strings";
            }
            default -> {
                found = t.countVarints();
                wanted = type == OnnxDataType.INT4 || type == OnnxDataType.UINT4 || type == OnnxDataType.FLOAT4E2M1
                        ? (numel + 1) / 2 : numel;
                unit = "values";
            }
        }
        if (found != wanted) {
            throw error(where, t.name(), "has " + found + " " + unit + " in " + fieldName(storage) + ", expected "
                    + wanted + " for dims " + dimsOf(t) + " of " + type);
        }
    }

    /** The typed field for a data type, as onnx.proto's comments on each field assign them. */
    private static Storage typedField(OnnxDataType type) {
        return switch (type) {
            case FLOAT, COMPLEX64 -> Storage.FLOAT_DATA;
            case DOUBLE, COMPLEX128 -> Storage.DOUBLE_DATA;
            case INT64 -> Storage.INT64_DATA;
            case UINT32, UINT64 -> Storage.UINT64_DATA;
            case STRING -> Storage.STRING_DATA;
            default -> Storage.INT32_DATA;
        };
    }

    private static Storage storageOf(int field) {
        return switch (field) {
            case 4 -> Storage.FLOAT_DATA;
            case 5 -> Storage.INT32_DATA;
            case 6 -> Storage.STRING_DATA;
            case 7 -> Storage.INT64_DATA;
            case 9 -> Storage.RAW;
            case 10 -> Storage.DOUBLE_DATA;
            case 11 -> Storage.UINT64_DATA;
            default -> null;
        };
    }

    private static String fieldName(Storage s) {
        return s == Storage.RAW ? "raw_data" : s.name().toLowerCase(Locale.ROOT);
    }

    private static String dimsOf(OnnxTensor t) {
        return Arrays.toString(t.dims());
    }

    private Lora4jException error(String where, String name, String what) {
        return new Lora4jException(source + ": " + where + ": tensor '" + name + "' " + what);
    }
}
