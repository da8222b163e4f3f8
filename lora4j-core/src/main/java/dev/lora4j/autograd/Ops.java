package dev.lora4j.autograd;

import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/** Small helpers shared by the ops: output allocation and shape checks. */
final class Ops {
    private Ops() {}

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
