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
 * against one process with batch 2b, a worker that fails once, and more workers than slots.
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

    @Test
    void twoWorkersTrainAsOneProcessWithTheirBatchesTogether() throws IOException {
        Path single = tmp.resolve("single"), parallel = tmp.resolve("parallel");
        TrainCommand.fineTune(args(single, 8)).build().run();
        List<Trainer.StepMetrics> steps = new ArrayList<>();
        FineTune.Result r = SparkTraining.train(sc, 2, args(parallel, 4), new FineTune.Listener() {
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
            double la = a.get(i).get("loss").asDouble(), lb = b.get(i).get("loss").asDouble();
            assertEquals(la, lb, 1e-6 * la, "loss of step " + (i + 1));
            assertEquals(a.get(i).get("tokens").asLong(), b.get(i).get("tokens").asLong());
        }
        Map<String, float[]> x = adapter(single), y = adapter(parallel);
        assertEquals(x.keySet(), y.keySet());
        x.forEach((k, v) -> assertTrue(frobeniusError(y.get(k), v) <= 1e-3, k));
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
