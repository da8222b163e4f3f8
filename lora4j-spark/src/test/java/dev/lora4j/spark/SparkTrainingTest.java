package dev.lora4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.cli.TrainCommand;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training on an embedded Spark ({@code local[2]}, one context for the class): two workers with batch b
 * against one process with batch 2b and against one with batch b accumulated twice, a worker that fails once, and more
 * workers than slots.
 */
class SparkTrainingTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static JavaSparkContext sc;
    @TempDir
    static Path tmp;

    @BeforeAll
    static void spark() {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("lora4j test").set("spark.ui.enabled", "false")
                .set("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "1"));
        sc.setLogLevel("WARN");
    }

    @AfterAll
    static void stop() {
        if (sc != null) sc.stop();
    }

    private static List<String> args(Path out, int batch, String... more) {
        return args(out, batch, 6, more);
    }

    private static List<String> args(Path out, int batch, int steps, String... more) {
        List<String> a = new ArrayList<>(List.of("--model", TESTDATA.resolve("gpt2-tiny").toString(), "--data",
                TESTDATA.resolve("moby-dick/train.txt").toString(), "--out", out.toString(), "--rank", "4", "--lr", "1e-2",
                "--max-steps", Integer.toString(steps), "--seq-len", "32", "--batch-size", Integer.toString(batch), "--save-every", "2", "--schedule", "constant"));
        a.addAll(List.of(more));
        return a;
    }

    /**
     * Two workers with batch 4 against one process with batch 8: not bit for bit, because the weight gradients sum the
     * same 256 rows in another float order (each worker its 128 rows, then the all-reduce adds the two sums; the one
     * process in one product over all 256), and the forward's row blocks fall differently in the kernels. Measured: each
     * step's loss and gradient norm within 3e-7 relative. Within 1e-6 relative, the adapter too, with this test's setting
     * {@code --init-lora-weights false} (B starts random, as A does): with PEFT's default B = 0, B is nothing but AdamW's
     * first updates, each element about lr·g/(|g| + eps), a sign for most elements but for one whose gradient is near
     * zero a ratio of rounding noise to eps; those elements alone put B 1.8e-6 apart after the first step (8e-7 after
     * six), a difference of a few noise-sized updates against an adapter of update size. Measured with B random:
     * at most 2e-7 over six steps. {@link #twoWorkersAreOneProcessAccumulatingTheirTwoBatchesBitForBit} is the comparison
     * whose orders are the same.
     */
    @Test
    void twoWorkersTrainAsOneProcessWithTheirBatchesTogether() throws IOException {
        Path single = tmp.resolve("single"), parallel = tmp.resolve("parallel");
        TrainCommand.fineTune(args(single, 8, "--init-lora-weights", "false")).build().run();
        List<Trainer.StepMetrics> steps = new ArrayList<>();
        FineTune.Result r = SparkTraining.train(sc, 2, args(parallel, 4, "--init-lora-weights", "false"), new FineTune.Listener() {
            @Override
            public void onStep(Trainer.StepMetrics m) {
                steps.add(m);
            }
        });
        assertEquals(6, r.steps());
        assertEquals(6, steps.size());
        List<JsonNode> a = stepLines(single), b = stepLines(parallel);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String key : List.of("loss", "grad_norm")) {
                double x = a.get(i).get(key).asDouble(), y = b.get(i).get(key).asDouble();
                assertEquals(x, y, 1e-6 * x, key + " of step " + (i + 1));
            }
            assertEquals(a.get(i).get("tokens").asLong(), b.get(i).get("tokens").asLong());
        }
        Map<String, float[]> x = adapter(single), y = adapter(parallel);
        assertEquals(x.keySet(), y.keySet());
        x.forEach((k, v) -> {
            double err = frobeniusError(y.get(k), v);
            assertTrue(err <= 1e-6, k + ": relative error " + err);
        });
    }

    /**
     * Two workers with batch 4 against one process with batch 4 and accumulation 2, with dropout: the same bits. Each
     * worker computes the gradient of its 4 windows from zero, as the one process computes each micro-batch's; the
     * all-reduce adds the two (in double, rounded once: for two floats that is their float sum) as the process adds its
     * second micro-batch's to its first's; a worker's dropout masks are those of its rows in the one process; and every
     * window is a full one, scoring as many tokens as the next, so each worker's loss weight is 1/2 as each
     * micro-batch's is. The losses, as metrics.jsonl
     * records them, are equal too: (l₀·n + l₁·n) / 2n and l₀/2 + l₁/2 are exact in double for two float losses.
     */
    @Test
    void twoWorkersAreOneProcessAccumulatingTheirTwoBatchesBitForBit() throws IOException {
        Path accumulated = tmp.resolve("accumulated"), parallel = tmp.resolve("parallel-dropout");
        TrainCommand.fineTune(args(accumulated, 4, 4, "--grad-accum", "2", "--dropout", "0.1")).build().run();
        SparkTraining.train(sc, 2, args(parallel, 4, 4, "--dropout", "0.1"), new FineTune.Listener() {});
        Map<String, float[]> x = adapter(accumulated), y = adapter(parallel);
        assertEquals(x.keySet(), y.keySet());
        x.forEach((k, v) -> assertArrayEquals(v, y.get(k), k));
        List<JsonNode> a = stepLines(accumulated), b = stepLines(parallel);
        assertEquals(4, b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String key : List.of("loss", "grad_norm", "tokens")) assertEquals(a.get(i).get(key), b.get(i).get(key), key + " of step " + (i + 1));
        }
    }

    private static List<JsonNode> stepLines(Path out) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String l : Files.readAllLines(out.resolve(FineTune.METRICS_FILE))) {
            JsonNode n = new ObjectMapper().readTree(l);
            if (n.has("loss")) lines.add(n);
        }
        return lines;
    }

    private static Map<String, float[]> adapter(Path out) {
        Map<String, float[]> m = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            for (String n : f.names()) m.put(n, f.read(n).data());
        }
        return m;
    }

    private static double frobeniusError(float[] a, float[] e) {
        double d = 0, n = 0;
        for (int i = 0; i < e.length; i++) {
            d += ((double) a[i] - e[i]) * ((double) a[i] - e[i]);
            n += (double) e[i] * e[i];
        }
        return Math.sqrt(d / n);
    }

    /**
     * Rank 1 throws once, after step 3 of the stage's first attempt (a test hook, not timing): Spark restarts the whole
     * barrier stage, whose workers continue from the latest checkpoint (step 2); the adapter and every step's loss are
     * those of a run never interrupted, bit for bit (the same two workers, the same sums, an exact resume).
     */
    private static Path straight;

    /** Two workers, six steps, never interrupted: what the fault and resume tests must reproduce bit for bit. */
    private static synchronized Path straight() {
        if (straight == null) {
            straight = tmp.resolve("straight");
            SparkTraining.train(sc, 2, args(straight, 4), new FineTune.Listener() {});
        }
        return straight;
    }

    private static void assertSameRun(Path expected, Path actual) throws IOException {
        Map<String, float[]> x = adapter(expected), y = adapter(actual);
        assertEquals(x.keySet(), y.keySet());
        x.forEach((k, v) -> assertArrayEquals(v, y.get(k), k));
        List<JsonNode> a = stepLines(expected), b = stepLines(actual);
        assertEquals(a.size(), b.size(), "metrics.jsonl tells one story: each step once");
        for (int i = 0; i < a.size(); i++) assertEquals(a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), "loss of step " + (i + 1));
    }

    @Test
    void aRunStoppedEarlyAndResumedIsTheRunNeverStopped() throws IOException {
        Path out = tmp.resolve("resumed");
        SparkTraining.train(sc, 2, args(out, 4, 4), new FineTune.Listener() {});
        List<Integer> resumedAt = new ArrayList<>();
        SparkTraining.train(sc, 2, args(out, 4, "--resume", "--override", "max_steps"), new FineTune.Listener() {
            @Override
            public void onResume(int step, List<String> overridden) {
                resumedAt.add(step);
            }
        });
        assertEquals(List.of(4), resumedAt);
        assertSameRun(straight(), out);
    }

    @Test
    void aWorkerThatFailsOnceMakesSparkRestartTheStageWhichResumesFromTheLastCheckpoint() throws IOException {
        Path failing = tmp.resolve("failing");
        AtomicInteger resumedAt = new AtomicInteger(-1);
        TrainTask.stepHook = (rank, attempt, step) -> {
            if (rank == 1 && attempt == 0 && step == 3) throw new IllegalStateException("injected failure");
        };
        try {
            SparkTraining.train(sc, 2, args(failing, 4), new FineTune.Listener() {
                @Override
                public void onResume(int step, List<String> overridden) {
                    resumedAt.set(step);
                }
            });
        } finally {
            TrainTask.stepHook = (rank, attempt, step) -> {};
        }
        assertEquals(2, resumedAt.get(), "the restarted stage resumed after step 2");
        assertSameRun(straight(), failing);
    }

    @Test
    void moreWorkersThanSlotsFailsAtOnceNamingBoth() {
        long t0 = System.nanoTime();
        String msg = assertThrows(Lora4jException.class, () -> SparkTraining.train(sc, 3, args(tmp.resolve("three"), 4), new FineTune.Listener() {}))
                .getMessage();
        assertTrue(msg.contains("3 workers") && msg.contains("has 2"), msg);
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "took " + (System.nanoTime() - t0) / 1e9 + " s");
        assertTrue(Files.notExists(tmp.resolve("three")), "nothing claimed");
    }
}
