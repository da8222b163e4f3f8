package dev.lora4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The op gradient check every op test uses: the op's forward against an independent double-precision
 * reference, and its backward against central finite differences of that reference (h = 1e-6) for
 * J = Σ r·y with random r: dJ/dinput from backward must match (J(x+h) − J(x−h)) / 2h per element.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Runs {@code op} on a recording tape over {@code inputs} and checks forward and backward against {@code ref}. */
    public static void check(String name, List<Tensor> inputs, BiFunction<Tape, List<Tensor>, Tensor> op,
                             Function<double[][], double[]> ref, SplittableRandom rnd) {
        for (Tensor t : inputs) t.requiresGrad(true).clearGrad();
        Tape tape = Tape.create();
        Tensor y = op.apply(tape, inputs);
        double[][] d = new double[inputs.size()][];
        for (int i = 0; i < d.length; i++) d[i] = toDouble(inputs.get(i).data());
        double[] yRef = ref.apply(d);
        assertEquals(yRef.length, y.size(), name + ": output size");
        for (int i = 0; i < yRef.length; i++) {
            assertEquals(yRef[i], y.data()[i], 1e-5 * (1 + Math.abs(yRef[i])), name + ": forward element " + i);
        }
        double[] r = new double[y.size()];
        float[] dy = new float[r.length];
        for (int i = 0; i < r.length; i++) dy[i] = (float) (r[i] = rnd.nextDouble() * 2 - 1);
        tape.backward(y, dy);
        double h = 1e-6;
        for (int in = 0; in < inputs.size(); in++) {
            float[] g = inputs.get(in).grad();
            double maxErr = 0, maxRef = 0;
            for (int e = 0; e < d[in].length; e++) {
                double keep = d[in][e];
                d[in][e] = keep + h;
                double jp = dot(ref.apply(d), r);
                d[in][e] = keep - h;
                double jm = dot(ref.apply(d), r);
                d[in][e] = keep;
                double fd = (jp - jm) / (2 * h);
                maxErr = Math.max(maxErr, Math.abs(fd - g[e]));
                maxRef = Math.max(maxRef, Math.abs(fd));
            }
            assertTrue(maxRef > 0, name + ": input " + in + " has a zero gradient everywhere");
            assertTrue(maxErr <= 1e-4 * Math.max(1, maxRef), name + ": input " + in + " max |fd − backward| = " + maxErr);
        }
    }

    /** A tensor of uniform values in [−1, 1). */
    public static Tensor rand(SplittableRandom rnd, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (float) (rnd.nextDouble() * 2 - 1);
        return t;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }
}
