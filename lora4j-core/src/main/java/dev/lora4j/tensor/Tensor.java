package dev.lora4j.tensor;

import java.util.Arrays;

/**
 * A dense row-major float32 tensor with an optional gradient of the same shape.
 * Parameters and activations are both tensors; {@link #requiresGrad()} says whether backward must
 * produce a gradient for it. The gradient buffer is allocated on first use, so a frozen weight never
 * has one.
 */
public final class Tensor {
    private final float[] data;
    private final Shape shape;
    private boolean requiresGrad;
    private boolean pooled;
    private float[] grad;

    public Tensor(Shape shape, float[] data) {
        if (data.length != shape.size()) {
            throw new IllegalArgumentException("data length " + data.length + " does not match shape " + shape);
        }
        this.shape = shape;
        this.data = data;
    }

    public static Tensor zeros(int... dims) {
        Shape s = new Shape(dims);
        return new Tensor(s, new float[s.size()]);
    }

    public static Tensor of(float[] data, int... dims) {
        return new Tensor(new Shape(dims), data);
    }

    public float[] data() {
        return data;
    }

    public Shape shape() {
        return shape;
    }

    public int dim(int i) {
        return shape.dim(i);
    }

    public int size() {
        return data.length;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public Tensor requiresGrad(boolean value) {
        this.requiresGrad = value;
        if (!value) grad = null;
        return this;
    }

    /** An activation whose data and gradient come from the open {@link Workspace}. */
    public static Tensor pooled(Shape shape) {
        Tensor t = new Tensor(shape, Workspace.floats(shape.size()));
        t.pooled = Workspace.active();
        return t;
    }

    /** The gradient buffer, allocated (zeroed) on first call. Only for tensors that require a gradient. */
    public float[] grad() {
        if (!requiresGrad) throw new IllegalStateException("tensor " + shape + " does not require a gradient");
        if (grad == null) grad = pooled ? Workspace.floats(data.length) : new float[data.length];
        return grad;
    }

    /** The gradient if one was accumulated, else null. */
    public float[] gradOrNull() {
        return grad;
    }

    public void zeroGrad() {
        if (grad != null) Arrays.fill(grad, 0f);
    }

    /** Drops the gradient buffer (its memory too; a pooled one goes back to the workspace). */
    public void clearGrad() {
        if (pooled && grad != null) Workspace.recycle(grad);
        grad = null;
    }

    @Override
    public String toString() {
        return "Tensor" + shape + (requiresGrad ? " (requires grad)" : "");
    }
}
