// Where one Hugging Face weight of an imported ONNX model lives: the initializer holding it and
// whether it is stored transposed (a MatMul's right-hand operand is [in, out]; HF Linear is [out, in]).
package dev.lora4j.onnx;

import dev.lora4j.tensor.Shape;

/** {@code shape} is the Hugging Face shape ({@code [out, in]} for a linear weight). */
public record OnnxWeight(String key, String initializer, boolean transposed, Shape shape) {
    public OnnxWeight {
        if (transposed && shape.rank() != 2) throw new IllegalArgumentException("only matrices are transposed: " + key);
    }

    /** The initializer's values (its own layout) in the Hugging Face layout. */
    float[] toHf(float[] stored) {
        return transposed ? transpose(stored, shape.dim(1), shape.dim(0)) : stored;
    }

    /** Hugging Face layout values in the initializer's own layout. */
    float[] toStored(float[] hf) {
        return transposed ? transpose(hf, shape.dim(0), shape.dim(1)) : hf;
    }

    /** The {@code cols × rows} transpose of a row-major {@code rows × cols} matrix. */
    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        }
        return t;
    }
}
