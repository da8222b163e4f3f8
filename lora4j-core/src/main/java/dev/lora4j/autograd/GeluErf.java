package dev.lora4j.autograd;

import dev.lora4j.tensor.Tensor;

/**
 * The exact GELU (HF "gelu", torch.nn.functional.gelu with approximate='none'), as BERT and RoBERTa use it:
 * y = x·Φ(x) = ½x(1 + erf(x/√2)); backward dy/dx = Φ(x) + x·φ(x). The op uses a Chebyshev fit of erfc
 * (Numerical Recipes' erfcc, relative error below 1.2e-7, one exp per element: float32 accuracy at a
 * fraction of the cost); {@link #erf(double)} is the slow double-precision reference the tests use.
 */
public final class GeluErf {
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

    private GeluErf() {}

    public static Tensor apply(Tape tape, Tensor x) {
        boolean needsGrad = tape.needsGrad(x);
        Tensor y = Ops.output(x.shape(), needsGrad);
        float[] X = x.data(), Y = y.data();
        for (int i = 0, n = x.size(); i < n; i++) Y[i] = (float) (0.5 * X[i] * (1.0 + fastErf(X[i] * INV_SQRT2)));
        if (needsGrad) {
            tape.record(y, () -> {
                float[] dY = y.grad(), dX = x.grad();
                for (int i = 0, n = x.size(); i < n; i++) {
                    double v = X[i];
                    double cdf = 0.5 * (1.0 + fastErf(v * INV_SQRT2)), pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
                    dX[i] += (float) (dY[i] * (cdf + v * pdf));
                }
            });
        }
        return y;
    }

    /** erf(z) = 1 − erfc(z), erfc by Numerical Recipes' Chebyshev fit (fractional error {@literal <} 1.2e-7 everywhere). */
    public static double fastErf(double z) {
        double a = Math.abs(z), t = 1.0 / (1.0 + 0.5 * a);
        double erfc = t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return z >= 0 ? 1.0 - erfc : erfc - 1.0;
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
