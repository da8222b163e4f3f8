package dev.lora4j.lora;

import dev.lora4j.autograd.Add;
import dev.lora4j.autograd.DoraDelta;
import dev.lora4j.autograd.Dropout;
import dev.lora4j.autograd.LoraDelta;
import dev.lora4j.autograd.Tape;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.nn.Layer;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * A frozen linear layer with a trainable low-rank update beside it, as PEFT's lora.Linear:
 * {@code y = base_layer(x) + scale · lora_B(lora_A(dropout(x)))}, A (r, in), B (out, r), whatever the
 * base's storage (Conv1D included). Children are named as in PEFT's module tree ({@code base_layer},
 * {@code lora_A}, {@code lora_B}), so parameter names give the adapter keys directly. Backward yields
 * dA, dB and dx only: the base weight does not require a gradient. With DoRA ({@code use_dora}) the layer also holds
 * PEFT's {@code lora_magnitude_vector} m (out), initialised to the row norms of W + scale·B·A, and computes
 * {@code y = m ⊙ (W + scale·B·A)·x / ‖W + scale·B·A‖_row + b} ({@link DoraDelta}). With PiSSA's init
 * ({@code init_lora_weights} "pissa" or "pissa_niter_K", {@link PissaInit}) the base weight becomes the residual
 * W − scale·B0·A0 and the layer keeps A0 and B0 for {@link PissaConversion}.
 */
public final class LoraLinear extends Module implements Layer {
    private final Linear base;
    private final Linear loraA;
    private final Linear loraB;
    private final Tensor magnitude;      // DoRA's lora_magnitude_vector (out), or null for plain LoRA
    private final int r;
    private final float scale;
    private final float dropout;
    private long dropoutSeed;
    private boolean merged;
    private float[] mergedDoraFactor;    // DoRA's m / ‖W + scale·B·A‖ when merged (PEFT caches the norm to unmerge)
    private final float[][] pissaInit;   // PiSSA's A0 (r, in) and B0 (out, r), kept to convert the trained adapter; else null

    /** The layer PEFT's update_layer makes for {@code config} with this module's rank and scale, initialised from {@code rnd}. */
    public LoraLinear(Linear base, int r, float scale, LoraConfig config, SplittableRandom rnd) {
        this.base = registerChild("base_layer", base);
        this.loraA = registerChild("lora_A", new Linear(base.inFeatures(), r, false, false));   // (r, in)
        this.loraB = registerChild("lora_B", new Linear(r, base.outFeatures(), false, false));  // (out, r)
        this.r = r;
        this.scale = scale;
        this.dropout = (float) config.loraDropout();
        switch (config.initLoraWeights()) {
            case DEFAULT -> kaimingUniform(loraA.weight(), rnd);
            case GAUSSIAN -> {
                float[] a = loraA.weight().data();
                double std = 1.0 / r;
                for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * std);
            }
            case RANDOM -> {
                kaimingUniform(loraA.weight(), rnd);
                kaimingUniform(loraB.weight(), rnd);
            }
            case PISSA, PISSA_NITER -> PissaInit.apply(base, loraA.weight().data(), loraB.weight().data(), r, scale,
                    config.initLoraWeights() == LoraConfig.Init.PISSA ? -1 : config.pissaNiter(), rnd);
        }
        this.pissaInit = config.initLoraWeights().isPissa()
                ? new float[][] {loraA.weight().data().clone(), loraB.weight().data().clone()} : null;
        loraA.weight().requiresGrad(true);
        loraB.weight().requiresGrad(true);
        this.magnitude = config.useDora() ? registerParameter(AdapterIO.MAGNITUDE, Tensor.of(weightNorms(), base.outFeatures())) : null;
        if (magnitude != null) magnitude.requiresGrad(true);
    }

    /** torch.nn.init.kaiming_uniform_(w, a=√5) on a (out, in) weight: U(−1/√in, 1/√in). */
    private static void kaimingUniform(Tensor w, SplittableRandom rnd) {
        double bound = 1.0 / Math.sqrt(w.dim(1));
        float[] d = w.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
    }

    @Override
    public Tensor forward(Tape tape, Tensor x) {
        Tensor y = base.forward(tape, x);
        if (merged) return y;
        if (magnitude != null) {
            Tensor xd = isTraining() && dropout > 0f ? Dropout.apply(tape, x, dropout, dropoutSeed++) : x;
            return DoraDelta.addInto(tape, y, x, xd, base.weight(), base.bias(), base.fanInFanOut(), loraA.weight(), loraB.weight(),
                    magnitude, scale);
        }
        if (!isTraining() || dropout == 0f) return LoraDelta.addInto(tape, y, x, loraA.weight(), loraB.weight(), scale);   // in place
        Tensor xd = Dropout.apply(tape, x, dropout, dropoutSeed++);
        Tensor delta = loraB.forward(tape, loraA.forward(tape, xd));   // (N, r) then (N, out)
        return Add.apply(tape, y, delta, scale);
    }

    @Override
    protected void setDropoutSeed(long seed) {
        this.dropoutSeed = seed;
    }

    @Override
    protected long dropoutSeed() {
        return dropoutSeed;
    }

    public Linear base() {
        return base;
    }

    public Tensor loraA() {
        return loraA.weight();
    }

    public Tensor loraB() {
        return loraB.weight();
    }

    /** DoRA's lora_magnitude_vector (out), or null for plain LoRA. */
    public Tensor magnitude() {
        return magnitude;
    }

    /** ‖W + scale·B·A‖ per output row, from the current (unmerged) weights: DoRA's norm, PEFT's get_weight_norm. */
    public float[] weightNorms() {
        return DoraDelta.weightNorms(base.weight().storage(), base.fanInFanOut(), base.outFeatures(), base.inFeatures(),
                loraA.weight().data(), loraB.weight().data(), r, scale);
    }

    /** DoRA's factor m / ‖W + scale·B·A‖ per output row, from the current (unmerged) weights. */
    public float[] doraFactor() {
        return DoraDelta.factor(magnitude.data(), weightNorms());
    }

    /** PiSSA's initial A0 (r, in), or null when the layer was not initialised by PiSSA. */
    float[] pissaA0() {
        return pissaInit == null ? null : pissaInit[0];
    }

    /** PiSSA's initial B0 (out, r), or null when the layer was not initialised by PiSSA. */
    float[] pissaB0() {
        return pissaInit == null ? null : pissaInit[1];
    }

    public int r() {
        return r;
    }

    public float scale() {
        return scale;
    }

    public boolean merged() {
        return merged;
    }

    /** ΔW = scale·B·A as (out, in), the update merge adds to the base weight. */
    public float[] deltaWeight() {
        int out = base.outFeatures(), in = base.inFeatures();
        float[] d = new float[out * in];
        Gemm.ab(d, 0, in, loraB.weight().data(), 0, r, loraA.weight().data(), 0, in, out, in, r, false);
        for (int i = 0; i < d.length; i++) d[i] *= scale;
        return d;
    }

    /**
     * What merging adds to the base weight, as (out, in): ΔW = scale·B·A; with DoRA f⊙(W + ΔW) − W, f the DoRA factor
     * (PEFT's merge: W ← f⊙(W + ΔW)).
     */
    float[] mergeDelta() {
        float[] d = deltaWeight();
        if (magnitude == null) return d;
        float[] f = doraFactor(), w = base.weight().toFloat32().data();      // a compact base is widened first, as Merger does
        int out = base.outFeatures(), in = base.inFeatures();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                float wv = w[base.fanInFanOut() ? i * out + o : o * in + i];
                d[o * in + i] = f[o] * (wv + d[o * in + i]) - wv;
            }
        }
        return d;
    }

    /** Adds {@link #mergeDelta()} into the base weight; a DoRA layer keeps its factor to unmerge with (as PEFT caches the norm). */
    void merge(float[] delta) {
        if (magnitude != null) mergedDoraFactor = doraFactor();
        applyDelta(delta, +1);
    }

    /** Takes the update out of the base weight again: W − ΔW; with DoRA, PEFT's W / f − ΔW with the factor of the merge. */
    void unmerge() {
        if (magnitude == null) {
            applyDelta(deltaWeight(), -1);
            return;
        }
        float[] d = deltaWeight(), w = base.weight().data();
        int out = base.outFeatures(), in = base.inFeatures();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                int k = base.fanInFanOut() ? i * out + o : o * in + i;
                w[k] = w[k] / mergedDoraFactor[o] - d[o * in + i];
            }
        }
        mergedDoraFactor = null;
        merged = false;
    }

    /** Adds (sign +1) or removes (−1) ΔW in the base weight, transposed for Conv1D storage. */
    private void applyDelta(float[] delta, int sign) {
        int out = base.outFeatures(), in = base.inFeatures();
        float[] w = base.weight().data();
        if (base.fanInFanOut()) {
            for (int o = 0; o < out; o++)
                for (int i = 0; i < in; i++) w[i * out + o] += sign * delta[o * in + i];
        } else {
            for (int k = 0; k < w.length; k++) w[k] += sign * delta[k];
        }
        merged = sign > 0;
    }
}
