package dev.lora4j.autograd;

import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.kernels.Kernels;
import dev.lora4j.tensor.Tensor;

/**
 * The exact GELU (HF "gelu", torch.nn.functional.gelu with approximate='none'), as BERT and RoBERTa use it:
 * y = x·Φ(x) = ½x(1 + erf(x/√2)); backward dy/dx = Φ(x) + x·φ(x). The kernels compute it ({@link Kernels#geluErf}, a
 * Chebyshev fit of erfc: float32 accuracy at one exp per element) over all cores; {@link #erf(double)} is the slow
 * double-precision reference the tests use.
 */
public final class GeluErf {
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

    private GeluErf() {}

    public static Tensor apply(Tape tape, Tensor x) {
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data();
        Kernels k = KernelProvider.get();
        Gemm.parallelRanges(x.size(), (from, to) -> k.geluErf(Y, from, X, from, to - from));
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad(), dX = x.grad();
                Gemm.parallelRanges(x.size(), (from, to) -> k.geluErfBackward(dX, dY, X, from, to - from));
            });
        }
        return y;
    }

    /** The error function erf(z) to about 1e-15 absolute (the reference for tests; slow). */
    public static double erf(double z) {
        double a = Math.abs(z);
        if (a < 2.0) {
            // erf(z) = 2/√π Σ (−1)ⁿ z^(2n+1) / (n! (2n+1))
            double z2 = z * z, term = z, sum = z;
            for (int n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
                term *= -z2 / n;
                sum += term / (2 * n + 1);
            }
            return TWO_OVER_SQRT_PI * sum;
        }
        if (a > 6.0) return Math.copySign(1.0, z);
        double erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) * continuedFraction(a);
        return Math.copySign(1.0 - erfc, z);
    }

    /** 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))) by the modified Lentz method: erfc(a) = e^(−a²)/√π · this. */
    private static double continuedFraction(double a) {
        double tiny = 1e-300, f = a, c = a, d = 0;
        for (int k = 1; k < 500; k++) {
            double coef = k / 2.0;
            d = a + coef * d;
            d = 1.0 / (Math.abs(d) < tiny ? tiny : d);
            c = a + coef / c;
            if (Math.abs(c) < tiny) c = tiny;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-16) break;
        }
        return 1.0 / f;
    }
}
