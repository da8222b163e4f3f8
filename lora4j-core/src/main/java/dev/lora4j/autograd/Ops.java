package dev.lora4j.autograd;

import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/** Small helpers shared by the ops: output allocation, per-thread scratch and shape checks. */
final class Ops {
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private Ops() {}

    /**
     * A buffer of at least n floats owned by the calling thread (a worker of {@code Gemm.parallelFor} included),
     * with arbitrary contents: for scratch that one task fully overwrites before reading, such as attention's
     * per-head (T, T) gradient. Reused by that thread's next call, so never two at once.
     */
    static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) SCRATCH.set(s = new float[n]);
        return s;
    }

    /** A new output tensor, requiring a gradient when the op will record a backward. */
    static Tensor output(Shape shape, boolean needsGrad) {
        return Tensor.pooled(shape).requiresGrad(needsGrad);
    }

    /** The same shape with the last dimension replaced. */
    static Shape withLast(Shape s, int last) {
        int[] d = s.dims();
        d[d.length - 1] = last;
        return new Shape(d);
    }

    static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
