package dev.lora4j.train;

import dev.lora4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter) with decoupled weight decay, step for step as torch.optim.AdamW
 * (single-tensor path): p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps). Only the given (trainable) tensors get moments. Each tensor
 * may be in a parameter group of its own learning-rate multiple and weight decay (torch's param_groups, as LoRA+ uses
 * them); the schedule's learning rate is multiplied by the group's multiple.
 */
public final class AdamW {
    /** A parameter group: the learning rate is {@code lrScale} × the step's, the decoupled weight decay {@code weightDecay}. */
    public record Group(float lrScale, float weightDecay) {}

    private final Map<String, Tensor> params;
    private final Map<String, Group> groups;
    private final Map<String, float[]> m = new LinkedHashMap<>();
    private final Map<String, float[]> v = new LinkedHashMap<>();
    private final float beta1;
    private final float beta2;
    private final float eps;
    private int step;

    /** One group: every tensor at the step's learning rate with {@code weightDecay}. */
    public AdamW(Map<String, Tensor> params, float beta1, float beta2, float eps, float weightDecay) {
        this(params, groupOfAll(params, weightDecay), beta1, beta2, eps);
    }

    /** Each tensor in its {@link Group} ({@code groups} has one for every name of {@code params}). */
    public AdamW(Map<String, Tensor> params, Map<String, Group> groups, float beta1, float beta2, float eps) {
        this.params = new LinkedHashMap<>(params);
        this.groups = Map.copyOf(groups);
        if (!this.groups.keySet().equals(this.params.keySet())) throw new IllegalArgumentException("every parameter needs its group");
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.params.forEach((name, p) -> {
            m.put(name, new float[p.size()]);
            v.put(name, new float[p.size()]);
        });
    }

    private static Map<String, Group> groupOfAll(Map<String, Tensor> params, float weightDecay) {
        Map<String, Group> g = new LinkedHashMap<>();
        params.keySet().forEach(name -> g.put(name, new Group(1f, weightDecay)));
        return g;
    }

    /** One update at learning rate {@code lr} (times each group's multiple) from the accumulated gradients (a missing one counts as zero). */
    public void step(float lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float bc2Sqrt = (float) Math.sqrt(bc2);
        params.forEach((name, p) -> {
            Group group = groups.get(name);
            float plr = lr * group.lrScale();
            float stepSize = (float) (plr / bc1), decay = 1f - plr * group.weightDecay();
            float[] w = p.data(), g = p.gradOrNull(), mm = m.get(name), vv = v.get(name);
            for (int i = 0; i < w.length; i++) {
                float gi = g == null ? 0f : g[i];
                w[i] *= decay;
                mm[i] = beta1 * mm[i] + (1 - beta1) * gi;
                vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi;
                float denom = (float) Math.sqrt(vv[i]) / bc2Sqrt + eps;
                w[i] -= stepSize * mm[i] / denom;
            }
        });
    }

    /** Sets every gradient back to zero before the next accumulation. */
    public void zeroGrad() {
        params.values().forEach(Tensor::zeroGrad);
    }

    public int stepCount() {
        return step;
    }

    /** First and second moments by parameter name ({@code exp_avg.NAME}, {@code exp_avg_sq.NAME}), for checkpoints. */
    public Map<String, float[]> state() {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.forEach((name, a) -> out.put("exp_avg." + name, a));
        v.forEach((name, a) -> out.put("exp_avg_sq." + name, a));
        return out;
    }

    /** Restores {@link #state()} and the step count saved by a checkpoint. */
    public void restore(int stepCount, Map<String, float[]> state) {
        params.keySet().forEach(name -> {
            copy(state, "exp_avg." + name, m.get(name));
            copy(state, "exp_avg_sq." + name, v.get(name));
        });
        this.step = stepCount;
    }

    private static void copy(Map<String, float[]> state, String key, float[] dst) {
        float[] src = state.get(key);
        if (src == null || src.length != dst.length) {
            throw new dev.lora4j.Lora4jException("optimizer state: '" + key + "' is missing or has the wrong size");
        }
        System.arraycopy(src, 0, dst, 0, dst.length);
    }
}
