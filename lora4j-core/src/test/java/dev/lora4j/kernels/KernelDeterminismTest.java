package dev.lora4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The kernels give the same bits whether the JVM interprets them or runs them compiled, so two identical training
 * runs (or a run and its resumed copy) agree exactly. The Vector API's own EXP, TANH and {@code reduceLanes(ADD)} do
 * not (they differ between the interpreter and C2 in the last place); ours use only IEEE +, ×, ÷ and fma.
 */
class KernelDeterminismTest {
    private final Kernels chosen = KernelProvider.get();

    @Test
    void sameBitsInTheInterpreterAsInCompiledCode() throws IOException, InterruptedException {
        String compiled = null;
        for (int i = 0; i < 20_000; i++) compiled = KernelFingerprint.of(chosen);   // well past C2's thresholds

        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xint"));
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) cmd.add("--add-modules=jdk.incubator.vector");
        for (String arg : ProcessHandle.current().info().arguments().orElse(new String[0])) {
            if (arg.startsWith("-XX:UseAVX")) cmd.add(arg);                          // the same vector width
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), KernelFingerprint.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String interpreted = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), "child JVM failed");
        String[] want = interpreted.split(" "), got = compiled.split(" ");
        assertEquals(want.length, got.length, "fingerprint length");
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], chosen.name() + ": -Xint and C2 disagree at value " + i);
    }

    @Test
    void expAndTanhWithinTwoUlpsOverTheirRange() {
        int n = 400_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -100f + 200f * i / (n - 1);
        float[] e = x.clone();
        chosen.expShiftSum(e, 0, n, 0f);
        float[] t = new float[n];
        chosen.tanh(t, 0, x, 0, n);
        for (int i = 0; i < n; i++) {
            double ref = Math.exp(x[i]);
            if (Float.isInfinite((float) ref)) assertEquals(Float.POSITIVE_INFINITY, e[i], "exp(" + x[i] + ") overflows");
            else assertTrue(ulps(e[i], ref) <= 2, "exp(" + x[i] + ") = " + e[i] + " vs " + ref);
            assertTrue(ulps(t[i], Math.tanh(x[i])) <= 2, "tanh(" + x[i] + ") = " + t[i] + " vs " + Math.tanh(x[i]));
        }
        float[] special = java.util.Arrays.copyOf(new float[] {Float.NEGATIVE_INFINITY, -0f, 0f, 1e-30f, -1e-30f,
                Float.NaN, -104f, 88.72f, 88.73f, Float.POSITIVE_INFINITY}, 64);   // 64 long: all in the vector loop
        float[] es = special.clone();
        chosen.expShiftSum(es, 0, 64, 0f);
        float[] ts = new float[64];
        chosen.tanh(ts, 0, special, 0, 64);
        assertEquals(0f, es[0]);
        assertEquals(1f, es[1]);
        assertEquals(1f, es[2]);
        assertTrue(Float.isNaN(es[5]) && Float.isNaN(ts[5]), "NaN stays NaN");
        assertEquals(-0f, ts[1]);
        assertEquals(1e-30f, ts[3]);
        assertEquals(-1e-30f, ts[4]);
        assertEquals(0f, es[6], "underflow");
        assertEquals((float) Math.exp(88.72f), es[7], Math.ulp(es[7]), "largest finite");
        assertEquals(Float.POSITIVE_INFINITY, es[8], "overflow");
        assertEquals(1f, ts[9]);
    }

    /** |a − ref| in units of the float spacing at ref. */
    private static double ulps(float a, double ref) {
        return Math.abs(a - ref) / Math.ulp((float) ref);
    }
}
