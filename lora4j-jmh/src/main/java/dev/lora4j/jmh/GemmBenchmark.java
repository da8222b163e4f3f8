package dev.lora4j.jmh;

import dev.lora4j.kernels.Gemm;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The GEMM kernels at GPT-2-small training shapes (batch 4 × 128 = 512 tokens): the forward x·Wᵀ, the
 * backward-input dY·W, the weight gradient dYᵀ·X, and the thin LoRA products with r = 8 columns. {@code shape}
 * is {@code form:M:N:K} for C[M, N] = A·Bᵀ (abt), A·B (ab) or Aᵀ·B (atb). GFLOP/s = 2·M·N·K / time; the PyTorch
 * side is tools/bench/torch_gemm.py. Inputs are N(0, 1), never zeros.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-XX:+UseParallelGC"})
public class GemmBenchmark {
    @Param({"abt:512:2304:768", "abt:512:3072:768", "abt:512:768:3072", "ab:512:768:2304", "ab:512:3072:768",
            "atb:768:3072:512", "atb:3072:768:512", "abt:512:8:768", "abt:512:2304:8", "atb:8:768:512", "abt:512:50257:768"})
    public String shape;

    private String form;
    private int m, n, k;
    private float[] a, b, c;

    @Setup
    public void setUp() {
        String[] s = shape.split(":");
        form = s[0];
        m = Integer.parseInt(s[1]);
        n = Integer.parseInt(s[2]);
        k = Integer.parseInt(s[3]);
        SplittableRandom rnd = new SplittableRandom(5);
        a = random(rnd, m * k);
        b = random(rnd, n * k);
        c = new float[m * n];
    }

    @Benchmark
    public float[] gemm() {
        switch (form) {
            case "abt" -> Gemm.abt(c, 0, n, a, 0, k, b, 0, k, m, n, k, false);     // A (M, K), B (N, K)
            case "ab" -> Gemm.ab(c, 0, n, a, 0, k, b, 0, n, m, n, k, false);      // A (M, K), B (K, N)
            default -> Gemm.atb(c, 0, n, a, 0, m, b, 0, n, m, n, k, false);       // A (K, M), B (K, N)
        }
        return c;
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
