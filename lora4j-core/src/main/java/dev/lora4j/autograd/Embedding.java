package dev.lora4j.autograd;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;

/**
 * Embedding lookup: out[i, :] = weight[ids[i], :]; weight (V, C), out (N, C). Backward scatters dout
 * into dweight rows (only when the table is trainable). Ids outside [0, V) are an input error.
 */
public final class Embedding {
    private Embedding() {}

    public static Tensor apply(Tape tape, Tensor weight, int[] ids) {
        int V = weight.dim(0), C = weight.dim(1);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= V) {
                throw new Lora4jException("token id " + ids[i] + " at position " + i + " is outside the vocabulary [0, " + V + ")");
            }
        }
        boolean needsGrad = tape.needsGrad(weight);
        Tensor out = Ops.output(new Shape(ids.length, C), needsGrad);
        float[] O = out.data();
        WeightStorage W = weight.storage();                                     // float32, or a frozen table held compactly
        for (int i = 0; i < ids.length; i++) W.widen(ids[i] * C, O, i * C, C);
        if (needsGrad) {
            tape.record(out, () -> {
                float[] dW = weight.grad(), dO = out.grad();
                for (int i = 0; i < ids.length; i++) {
                    for (int c = 0, w = ids[i] * C, o = i * C; c < C; c++) dW[w + c] += dO[o + c];
                }
            });
        }
        return out;
    }
}
