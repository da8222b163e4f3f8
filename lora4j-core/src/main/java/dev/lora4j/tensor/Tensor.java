package dev.lora4j.tensor;

import java.util.Arrays;

/**
 * A dense row-major float32 tensor with an optional gradient of the same shape.
 * Parameters and activations are both tensors; {@link #requiresGrad()} says whether backward must
 * produce a gradient for it. The gradient buffer is allocated on first use, so a frozen weight never
 * has one. A frozen weight may instead be held in a compact {@link WeightStorage} ({@link #toBf16()}: half the
 * memory); the ops read it through {@link #storage()}, and {@link #data()} is then unavailable. The array of
 * {@link #zeros} is allocated on first use, so a model's parameters take no float32 memory until they are read or
 * written: a loader that {@link #hold}s a weight compactly never allocates its float32 array.
 */
public final class Tensor {
    private float[] data;               // null: held compactly, or zeros not yet allocated (storage null too)
    private WeightStorage storage;
    private final Shape shape;
    private final int size;
    private boolean requiresGrad;
    private Workspace owner;            // the workspace a pooled tensor's arrays come from, and its generation then
    private int generation;
    private float[] grad;

    public Tensor(Shape shape, float[] data) {
        if (data.length != shape.size()) {
            throw new IllegalArgumentException("data length " + data.length + " does not match shape " + shape);
        }
        this.shape = shape;
        this.data = data;
        this.storage = new WeightStorage.F32(data);
        this.size = data.length;
    }

    /** A pooled activation over an array that may be longer than the shape (a workspace array reused by capacity). */
    private Tensor(float[] data, Shape shape) {
        this.shape = shape;
        this.data = data;
        this.storage = new WeightStorage.F32(data);
        this.size = shape.size();
    }

    /** A tensor of zeros whose array is allocated when first read or written. */
    public static Tensor zeros(int... dims) {
        return new Tensor(new Shape(dims));
    }

    private Tensor(Shape shape) {
        this.shape = shape;
        this.size = shape.size();
    }

    public static Tensor of(float[] data, int... dims) {
        return new Tensor(new Shape(dims), data);
    }

    /**
     * The float32 values, the first {@link #size()} of the array (a pooled activation's array may be longer); a tensor
     * held in a compact storage has none (an {@link IllegalStateException} says so).
     */
    public float[] data() {
        checkLive();
        float[] d = data;
        if (d != null) return d;
        if (storage != null) throw new IllegalStateException("tensor " + shape + " is stored as " + storage.getClass().getSimpleName()
                + " (a frozen base weight): it has no float32 data");
        return allocate();
    }

    /** The zeros' array, allocated once even when threads first read the tensor together. */
    private synchronized float[] allocate() {
        if (storage == null) {
            data = new float[size];
            storage = new WeightStorage.F32(data);
        }
        return data;
    }

    /** How the values are held: what the matrix products and the embedding lookup read, whatever it is. */
    public WeightStorage storage() {
        checkLive();
        WeightStorage s = storage;
        if (s != null) return s;
        allocate();
        return storage;
    }

    /** Whether the values are held as float32 ({@link #data()} is available). */
    public boolean isFloat32() {
        return data != null || storage == null;
    }

    /**
     * Stores this frozen tensor as bfloat16 (each value rounded to nearest, ties to even), dropping its float32
     * array: half the memory, the precision of the weights of most released checkpoints. Only for a tensor that
     * requires no gradient; idempotent.
     */
    public Tensor toBf16() {
        if (requiresGrad) throw new IllegalStateException("tensor " + shape + " requires a gradient: only frozen tensors are stored as bfloat16");
        if (!isFloat32()) return this;
        storage = WeightStorage.Bf16.of(data());
        data = null;
        return this;
    }

    /**
     * Holds this frozen tensor in {@code storage} (as many values; a quantized base weight read from a file), dropping
     * its float32 array. Only for a tensor that requires no gradient.
     */
    public Tensor hold(WeightStorage storage) {
        if (requiresGrad) throw new IllegalStateException("tensor " + shape + " requires a gradient: only frozen tensors are stored compactly");
        if (storage.size() != size) throw new IllegalArgumentException("storage of " + storage.size() + " values for tensor " + shape);
        this.storage = storage;
        data = storage instanceof WeightStorage.F32(float[] values) ? values : null;
        return this;
    }

    /** Holds this tensor as float32 again, widened exactly (a compact base weight that an adapter is merged into); idempotent. */
    public Tensor toFloat32() {
        if (isFloat32()) return this;
        float[] v = new float[size];
        storage.widen(0, v, 0, size);
        data = v;
        storage = new WeightStorage.F32(v);
        return this;
    }

    /**
     * Makes this frozen tensor hold {@code other}'s values: the same array or compact storage, not a copy (the
     * data-parallel workers of one JVM share one frozen base this way). Both must be frozen and of the same shape; the
     * values are never written while shared, since frozen tensors are only read.
     */
    public void shareValuesOf(Tensor other) {
        if (requiresGrad || other.requiresGrad || !shape.equals(other.shape)) {
            throw new IllegalArgumentException("only a frozen tensor can share the values of a frozen tensor of its shape: " + this + ", " + other);
        }
        storage = other.storage();
        data = other.data;
    }

    public Shape shape() {
        return shape;
    }

    public int dim(int i) {
        return shape.dim(i);
    }

    public int size() {
        return size;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public Tensor requiresGrad(boolean value) {
        if (value && !isFloat32()) throw new IllegalStateException("tensor " + shape + " is stored compactly and cannot be trained");
        this.requiresGrad = value;
        if (!value) grad = null;
        return this;
    }

    /**
     * An activation whose data and gradient come from the open {@link Workspace}; reading it after that workspace was
     * reset, released or closed is an {@link IllegalStateException} (its array may hold another tensor's values by then).
     */
    public static Tensor pooled(Shape shape) {
        Tensor t = new Tensor(Workspace.floats(shape.size()), shape);
        t.owner = Workspace.current();
        if (t.owner != null) t.generation = t.owner.generation();
        return t;
    }

    private void checkLive() {
        if (owner != null && owner.generation() != generation) {
            throw new IllegalStateException("tensor " + shape + " is used after the workspace step that made it ended; its array now "
                    + "belongs to the next step (copy what must outlive a step)");
        }
    }

    /** The gradient buffer (its first {@link #size()} values), allocated (zeroed) on first call. Only for tensors that require a gradient. */
    public float[] grad() {
        if (!requiresGrad) throw new IllegalStateException("tensor " + shape + " does not require a gradient");
        checkLive();
        if (grad == null) grad = owner != null ? Workspace.floats(size()) : new float[size()];
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
        if (owner != null && grad != null) Workspace.recycle(grad);
        grad = null;
    }

    @Override
    public String toString() {
        return "Tensor" + shape + (requiresGrad ? " (requires grad)" : "");
    }
}
