// Element types of ONNX tensors, with their codes in the file.
// Follows onnx.proto3 `TensorProto.DataType` (ONNX 1.17): FLOAT = 1 ... FLOAT4E2M1 = 23.
package dev.lora4j.onnx;

import java.util.Arrays;
import java.util.Optional;

/** The element type of an ONNX tensor and its {@code TensorProto.DataType} code in the file. */
public enum OnnxDataType {
    FLOAT(1, 32), UINT8(2, 8), INT8(3, 8), UINT16(4, 16), INT16(5, 16), INT32(6, 32), INT64(7, 64),
    STRING(8, 0), BOOL(9, 8), FLOAT16(10, 16), DOUBLE(11, 64), UINT32(12, 32), UINT64(13, 64),
    COMPLEX64(14, 64), COMPLEX128(15, 128), BFLOAT16(16, 16), FLOAT8E4M3FN(17, 8), FLOAT8E4M3FNUZ(18, 8),
    FLOAT8E5M2(19, 8), FLOAT8E5M2FNUZ(20, 8), UINT4(21, 4), INT4(22, 4), FLOAT4E2M1(23, 4);

    private final int code;
    private final int bits;

    OnnxDataType(int code, int bits) {
        this.code = code;
        this.bits = bits;
    }

    /** The type with this {@code data_type} / {@code elem_type} code, or empty if unknown (0 is UNDEFINED). */
    public static Optional<OnnxDataType> fromCode(int code) {
        return Arrays.stream(values()).filter(t -> t.code == code).findFirst();
    }

    public int code() {
        return code;
    }

    /** Bytes of {@code numel} elements in {@code raw_data}: 4-bit types pack two per byte; 0 for STRING. */
    public long rawLength(long numel) {
        return (Math.multiplyExact(numel, (long) bits) + 7) / 8;
    }

    /** Whether {@link OnnxTensor#floats()} can decode it: FLOAT, FLOAT16, BFLOAT16, DOUBLE. */
    public boolean isFloat() {
        return this == FLOAT || this == FLOAT16 || this == BFLOAT16 || this == DOUBLE;
    }

    /** Whether {@link OnnxTensor#longs()} can decode it: the integer types of 8 to 64 bits and BOOL. */
    public boolean isInteger() {
        return this == UINT8 || this == INT8 || this == UINT16 || this == INT16 || this == INT32 || this == INT64
                || this == BOOL || this == UINT32 || this == UINT64;
    }
}
