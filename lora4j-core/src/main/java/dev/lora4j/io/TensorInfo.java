// One entry of a safetensors header: name, element type, shape and byte range in the data block.
// Follows the safetensors `TensorInfo`; begin and end are relative to the data block, end exclusive.
package dev.lora4j.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One safetensors header entry: {@code name}, element type, {@code shape}, and the byte range [{@code begin}, {@code end})
 * relative to the data block.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements; 1 for a scalar (shape []). Overflows only for shapes the header check rejects. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            if (d == 0) return 0;
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
