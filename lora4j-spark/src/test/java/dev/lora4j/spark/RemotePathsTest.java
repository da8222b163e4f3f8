package dev.lora4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.train.FineTune;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model, data and output on a Hadoop file system, reached only through Hadoop's API: {@code testfs://} is a
 * {@link TestFileSystem} registered as a cluster registers HDFS or S3 ({@code spark.hadoop.fs.testfs.impl}), on an
 * embedded {@code local[2]} Spark (one context for the class). A run, a run whose stage restarts after a failure (its
 * fresh attempt finds the checkpoint only on the remote path), and a claim the driver refuses.
 */
class RemotePathsTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static JavaSparkContext sc;
    @TempDir
    static Path tmp;
    private static Path remote, cache;

    @BeforeAll
    static void spark() throws IOException {
        remote = Files.createDirectories(tmp.resolve("remote"));
        cache = tmp.resolve("cache");
        Files.createDirectories(remote.resolve("gpt2-tiny"));
        try (Stream<Path> model = Files.list(TESTDATA.resolve("gpt2-tiny"))) {
            for (Path f : model.toList()) Files.copy(f, remote.resolve("gpt2-tiny").resolve(f.getFileName()));
        }
        Files.copy(TESTDATA.resolve("moby-dick/train.txt"), remote.resolve("train.txt"));
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("lora4j test").set("spark.ui.enabled", "false")
                .set("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "1")
                .set("spark.hadoop.fs.testfs.impl", TestFileSystem.class.getName()).set(SparkTraining.CACHE_CONF, cache.toString()));
        sc.setLogLevel("WARN");
    }

    @AfterAll
    static void stop() {
        if (sc != null) sc.stop();
    }

    private static String uri(Path p) {
        return TestFileSystem.SCHEME + "://" + p.toAbsolutePath();
    }

    private static List<String> args(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("--model", uri(remote.resolve("gpt2-tiny")), "--data", uri(remote.resolve("train.txt")),
                "--out", uri(out), "--rank", "4", "--lr", "1e-2", "--max-steps", "4", "--seq-len", "32", "--batch-size", "4",
                "--save-every", "2", "--schedule", "constant"));
        a.addAll(List.of(more));
        return a;
    }

    private static Path straight;

    /** Four steps on two workers, model, data and output on testfs://: the run an interrupted one must reproduce. */
    private static synchronized Path straight() {
        if (straight == null) {
            straight = remote.resolve("straight");
            SparkTraining.train(sc, 2, args(straight), new FineTune.Listener() {});
        }
        return straight;
    }

    @Test
    void aRunReadsAndWritesThroughHadoopAndCopiesEachInputOncePerVersion() throws IOException {
        Path out = straight();
        for (String f : List.of("adapter_model.safetensors", "adapter_config.json", "metrics.jsonl", Output.MARKER, "checkpoints/latest",
                "checkpoints/checkpoint-4/trainer_state.json")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertEquals("checkpoint-4", Files.readString(out.resolve("checkpoints/latest")).strip());
        try (Stream<Path> s = Files.list(out.resolve("checkpoints"))) {
            assertEquals(List.of("checkpoint-4", "latest"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (Stream<Path> s = Files.list(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "nothing staged is left");
        }
        assertTrue(Files.notExists(remote.resolve(".straight.lock")), "the lock is released");
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertEquals(4, metrics.lines().filter(l -> l.contains("\"loss\"")).count(), metrics);
        assertTrue(metrics.lines().reduce((a, b) -> b).orElseThrow().contains("train_runtime_s"), metrics);
        try (Stream<Path> s = Files.list(cache.resolve("inputs"))) {
            assertEquals(2, s.count(), "the model and the data, each copied once for the JVM's two workers");
        }
        try (Stream<Path> s = Files.list(cache.resolve("runs"))) {
            assertEquals(0, s.count(), "the workers' local run directories are gone");
        }
    }

    /**
     * Rank 1 throws after step 3 of the first attempt: Spark restarts the stage, whose tasks start in fresh local
     * directories and find checkpoint-2 only on testfs://; the result is the uninterrupted run's, bit for bit.
     */
    @Test
    void aRestartedStageResumesFromTheCheckpointOnTheRemotePath() throws IOException {
        Path out = remote.resolve("restarted");
        AtomicInteger resumedAt = new AtomicInteger(-1);
        TrainTask.stepHook = (rank, attempt, step) -> {
            if (rank == 1 && attempt == 0 && step == 3) throw new IllegalStateException("injected failure");
        };
        try {
            SparkTraining.train(sc, 2, args(out), new FineTune.Listener() {
                @Override
                public void onResume(int step, List<String> overridden) {
                    resumedAt.set(step);
                }
            });
        } finally {
            TrainTask.stepHook = (rank, attempt, step) -> {};
        }
        assertEquals(2, resumedAt.get(), "the restarted stage resumed after step 2");
        Map<String, float[]> x = adapter(straight()), y = adapter(out);
        assertEquals(x.keySet(), y.keySet());
        x.forEach((k, v) -> assertArrayEquals(v, y.get(k), k));
        assertEquals(Files.readAllLines(straight().resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"loss\"")).map(RemotePathsTest::loss).toList(),
                Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"loss\"")).map(RemotePathsTest::loss).toList());
    }

    private static String loss(String line) {
        return line.replaceAll(".*\"loss\":([^,]*),.*", "$1");
    }

    @Test
    void aRemoteOutputHoldingAForeignFileIsRefusedOnTheDriverBeforeAnythingRuns() throws IOException {
        Path out = Files.createDirectories(remote.resolve("theirs"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        for (String mode : List.of("--resume", "--overwrite")) {
            long t0 = System.nanoTime();
            String msg = assertThrows(Lora4jException.class, () -> SparkTraining.train(sc, 2, args(out, mode), new FineTune.Listener() {})).getMessage();
            assertTrue(msg.startsWith(uri(out) + ": is not empty and was not written by lora4j (notes.txt)"), msg);
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "refused before any task: " + (System.nanoTime() - t0) / 1e9 + " s");
        }
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of("notes.txt"), s.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        assertTrue(Files.notExists(remote.resolve(".theirs.lock")), "the lock is released");
    }

    private static Map<String, float[]> adapter(Path out) {
        Map<String, float[]> m = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            for (String n : f.names()) m.put(n, f.read(n).data());
        }
        return m;
    }
}
