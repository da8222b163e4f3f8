package dev.lora4j.io.gguf;

import dev.lora4j.tensor.Shape;
import java.util.Arrays;

/**
 * A tensor's entry in a GGUF header: {@code ne} in ggml's order (innermost first: ne[0] is a row's length), its type,
 * its offset from the start of the data section and its size in bytes.
 */
public record GgufTensor(String name, long[] ne, GgmlType type, long offset, long bytes) {
    /** The number of values. */
    public long count() {
        long n = 1;
        for (long d : ne) n *= d;
        return n;
    }

    /** The shape in row-major (PyTorch) order: ne reversed, so a weight with ne [in, out] is (out, in). */
    public Shape shape() {
        int[] dims = new int[ne.length];
        for (int i = 0; i < ne.length; i++) dims[ne.length - 1 - i] = Math.toIntExact(ne[i]);
        return new Shape(dims);
    }

    /** The ggml dims in PyTorch order, for messages. */
    public String dims() {
        long[] d = new long[ne.length];
        for (int i = 0; i < ne.length; i++) d[ne.length - 1 - i] = ne[i];
        return Arrays.toString(d);
    }
}
