package dev.lora4j.tensor;

import java.util.Arrays;

/** The dimensions of a row-major tensor, outermost first: (B, T, C) is {@code new Shape(B, T, C)}. */
public record Shape(int... dims) {
    public Shape {
        dims = dims.clone();
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
        }
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    /** Number of elements; throws if it does not fit a Java array. */
    public int size() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor too large for one array: " + this);
        return (int) n;
    }

    public long numel() {
        long n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    @Override
    public int[] dims() {
        return dims.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
