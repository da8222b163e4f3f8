package dev.lora4j.cli.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code lora4j bench gemm}: GFLOP/s of the three GEMM forms at the shapes GPT-2-small training runs
 * (512 tokens: x·Wᵀ forward, dY·W backward-input, dYᵀ·X weight gradient; the thin LoRA products), one
 * JSON line per shape; tools/bench/torch_gemm.py measures torch.mm on the same shapes.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true, description = "GFLOP/s of the GEMM kernels at GPT-2-small training shapes.")
public final class BenchGemmCommand implements Callable<Integer> {
    @Option(names = "--repeats", defaultValue = "7", description = "Timed runs per shape (each ~50 ms of calls, after a 1-s warm-up); the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--shapes", paramLabel = "FORM:M:N:K", split = ",", description = {"Shapes to time instead of GPT-2-small's, e.g."
            + " abt:2048:384:384,ab:2048:384:1536 (all-MiniLM-L6-v2 at 16 × 128 tokens)."})
    List<String> shapes;

    @Spec
    CommandSpec spec;

    /** form, M, N, K: C[M,N] = A·Bᵀ (abt), A·B (ab) or Aᵀ·B (atb). */
    static final List<Object[]> SHAPES = List.of(
            new Object[] {"abt", 512, 2304, 768}, new Object[] {"abt", 512, 3072, 768}, new Object[] {"abt", 512, 768, 3072},
            new Object[] {"ab", 512, 768, 2304}, new Object[] {"ab", 512, 3072, 768},
            new Object[] {"atb", 768, 3072, 512}, new Object[] {"atb", 3072, 768, 512},
            new Object[] {"abt", 512, 8, 768}, new Object[] {"abt", 512, 2304, 8}, new Object[] {"atb", 8, 768, 512},
            new Object[] {"abt", 512, 50257, 768}, new Object[] {"ab", 512, 768, 50257});

    @Override
    public Integer call() throws Exception {
        SplittableRandom rnd = new SplittableRandom(5);
        ObjectMapper json = new ObjectMapper();
        List<Object[]> chosen = shapes == null ? SHAPES : shapes.stream().map(this::shape).toList();
        for (Object[] s : chosen) {
            String form = (String) s[0];
            int m = (int) s[1], n = (int) s[2], k = (int) s[3];
            float[] a = random(rnd, m * k), b = random(rnd, n * k), c = new float[m * n];
            Runnable call = switch (form) {
                case "abt" -> () -> Gemm.abt(c, 0, n, a, 0, k, b, 0, k, m, n, k, false);
                case "ab" -> () -> Gemm.ab(c, 0, n, a, 0, k, b, 0, n, m, n, k, false);
                default -> () -> Gemm.atb(c, 0, n, a, 0, m, b, 0, n, m, n, k, false);
            };
            int calls = 0;                                   // warm-up: one second, so C2 has compiled the kernel
            for (long t0 = System.nanoTime(); System.nanoTime() - t0 < 1_000_000_000L; calls++) call.run();
            int perRun = Math.max(1, calls / 20);            // a timed run is ~50 ms of calls, the per-call time its mean
            List<Double> times = new ArrayList<>();
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < perRun; i++) call.run();
                times.add((System.nanoTime() - t0) / 1e9 / perRun);
            }
            times.sort(null);
            double median = times.get(times.size() / 2);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("impl", "lora4j-" + KernelProvider.get().name());
            o.put("form", form);
            o.put("m", m);
            o.put("n", n);
            o.put("k", k);
            o.put("threads", Gemm.threads());
            o.put("seconds_median", median);
            o.put("gflops", Math.round(2.0 * m * n * k / median / 1e8) / 10.0);
            spec.commandLine().getOut().println(json.writeValueAsString(o));
        }
        return 0;
    }

    /** "abt:512:8:768" → {"abt", 512, 8, 768}. */
    private Object[] shape(String text) {
        String[] p = text.split(":");
        if (p.length != 4 || !List.of("abt", "ab", "atb").contains(p[0]) || !p[1].matches("[1-9]\\d{0,5}")
                || !p[2].matches("[1-9]\\d{0,5}") || !p[3].matches("[1-9]\\d{0,5}")) {
            throw new ParameterException(spec.commandLine(), "--shapes: '" + text + "' is not FORM:M:N:K with FORM abt, ab or atb and sizes from 1 to 999999");
        }
        return new Object[] {p[0], Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3])};
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
