package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/**
 * The gated activation of HF LlamaMLP, {@code act_fn(gate_proj(x)) * up_proj(x)} with act_fn = SiLU:
 * y = silu(gate) · up, silu(g) = g·σ(g). One op for both factors; backward recomputes σ from gate:
 * dgate = dy·up·σ(g)(1 + g(1 − σ(g))), dup = dy·silu(g).
 */
public final class SwiGlu {
    private SwiGlu() {}

    public static Tensor apply(Tape tape, Tensor gate, Tensor up) {
        Ops.check(gate.shape().equals(up.shape()), "gate " + gate.shape() + " and up " + up.shape() + " differ");
        boolean needsGrad = tape.needsGrad(gate, up);
        Tensor y = Ops.output(gate.shape(), needsGrad);
        float[] G = gate.data(), U = up.data(), Y = y.data();
        for (int i = 0, n = y.size(); i < n; i++) Y[i] = silu(G[i]) * U[i];
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad();
                float[] dG = gate.requiresGrad() ? gate.grad() : null;
                float[] dU = up.requiresGrad() ? up.grad() : null;
                for (int i = 0, n = y.size(); i < n; i++) {
                    float g = G[i], sig = sigmoid(g);
                    if (dG != null) dG[i] += dY[i] * U[i] * sig * (1f + g * (1f - sig));
                    if (dU != null) dU[i] += dY[i] * g * sig;
                }
            });
        }
        return y;
    }

    private static float silu(float g) {
        return g * sigmoid(g);
    }

    private static float sigmoid(float g) {
        return (float) (1.0 / (1.0 + Math.exp(-g)));
    }
}
