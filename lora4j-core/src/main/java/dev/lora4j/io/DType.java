// Element types of the safetensors format, named as in the file header ("F32", "BF16", ...).
// Follows huggingface/safetensors `Dtype` (0.8): declaration order is the reference's order of
// increasing alignment, which the writer uses to lay tensors out exactly as the Python library does.
package dev.lora4j.io;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** A safetensors element type as the header names it ("F32", "BF16", ...), with its size in bits. */
public enum DType {
    BOOL(8),
    /** float4 e2m1, two per byte. */
    F4(4),
    /** float6 e2m3, four per three bytes. */
    F6_E2M3(6),
    /** float6 e3m2, four per three bytes. */
    F6_E3M2(6),
    U8(8),
    I8(8),
    F8_E5M2(8),
    F8_E4M3(8),
    F8_E8M0(8),
    F8_E4M3FNUZ(8),
    F8_E5M2FNUZ(8),
    I16(16),
    U16(16),
    F16(16),
    BF16(16),
    I32(32),
    U32(32),
    F32(32),
    /** complex64: two float32. */
    C64(64),
    F64(64),
    I64(64),
    U64(64);

    private static final Map<String, DType> BY_NAME =
            Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Enum::name, Function.identity()));

    private final int bits;

    DType(int bits) {
        this.bits = bits;
    }

    /** The type named {@code name} in a safetensors header (case-sensitive), or empty if unknown. */
    public static Optional<DType> fromName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** Bits per element: 4 and 6 for the packed sub-byte float types, a multiple of 8 otherwise. */
    public int bits() {
        return bits;
    }

    /**
     * Bytes taken by {@code numel} elements of this type.
     *
     * @throws ArithmeticException if the size overflows a long
     * @throws IllegalArgumentException if a packed type's elements do not fill whole bytes
     */
    public long byteLength(long numel) {
        long totalBits = Math.multiplyExact(numel, (long) bits);
        if (totalBits % 8 != 0) {
            throw new IllegalArgumentException(numel + " elements of " + this + " fill " + totalBits
                    + " bits, not a whole number of bytes");
        }
        return totalBits / 8;
    }
}
