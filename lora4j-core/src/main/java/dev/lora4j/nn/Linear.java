package dev.lora4j.nn;

import dev.lora4j.autograd.MatMul;
import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;

/**
 * A linear layer with parameters {@code weight} and optional {@code bias}. The weight is stored
 * (out, in) as torch.nn.Linear, or (in, out) when {@code fanInFanOut} (GPT-2's Conv1D), exactly as in
 * the checkpoint, so loading is a copy.
 */
public class Linear extends Module implements Layer {
    private final Tensor weight;
    private final Tensor bias;
    private final boolean fanInFanOut;

    public Linear(int in, int out, boolean hasBias, boolean fanInFanOut) {
        this.fanInFanOut = fanInFanOut;
        this.weight = registerParameter("weight", fanInFanOut ? Tensor.zeros(in, out) : Tensor.zeros(out, in));
        this.bias = hasBias ? registerParameter("bias", Tensor.zeros(out)) : null;
    }

    @Override
    public Tensor forward(Tape tape, Tensor x) {
        return MatMul.linear(tape, x, weight, bias, fanInFanOut);
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    public int inFeatures() {
        return fanInFanOut ? weight.dim(0) : weight.dim(1);
    }

    public int outFeatures() {
        return fanInFanOut ? weight.dim(1) : weight.dim(0);
    }

    /** "Conv1D" for GPT-2's (in, out) layers, else "Linear" — the Hugging Face class name. */
    public String kind() {
        return fanInFanOut ? "Conv1D" : "Linear";
    }
}
