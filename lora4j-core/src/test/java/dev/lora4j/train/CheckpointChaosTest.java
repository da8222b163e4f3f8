package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.data.Documents;
import dev.lora4j.data.Window;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15, finding 2: a kill at every point of the checkpoint protocol (each rename, each deletion, between the
 * files of a checkpoint), injected through {@link Checkpoints#crashPoint}, then a second kill at the same point of the
 * resumed run, then a resume to the end: every resume succeeds and the result is bit-identical to a run never killed.
 */
class CheckpointChaosTest {
    private static final Path TINY = TestData.dir("gpt2-tiny");
    private static final LoraConfig LORA = LoraConfig.defaults("gpt2").withR(2).withAlpha(4).withDropout(0.1);
    private static final TrainConfig CFG = TrainConfig.builder().lr(1e-2f).maxSteps(5).batchSize(2).gradAccum(2).seqLen(16).saveEvery(2).build();
    private static List<Window> train;
    @TempDir
    Path tmp;

    /** A kill: an Error, so that nothing on the way up mistakes it for an input problem. */
    private static final class Kill extends Error {
        Kill(String point) {
            super("killed at " + point, null, false, false);
        }
    }

    @BeforeAll
    static void data() {
        try (Tokenizer tok = Tokenizer.load(TINY)) {
            train = Window.pack(Documents.load(TestData.dir("moby-dick").resolve("train.txt"), tok, 50257), 16).subList(0, 24);
        }
    }

    @AfterEach
    void noMoreKills() {
        Checkpoints.crashPoint = p -> {};
    }

    @Test
    void everyKillPointResumesToTheSameBits() throws IOException {
        Map<String, int[]> straight = run(tmp.resolve("straight"), false, -1);
        List<String> points = new ArrayList<>();
        Checkpoints.crashPoint = points::add;
        run(tmp.resolve("count"), false, -1);
        Checkpoints.crashPoint = p -> {};
        assertTrue(points.size() >= 12, "protocol points reached: " + points);
        assertTrue(points.containsAll(List.of("staging checkpoint-2", "staged checkpoint-2", "renamed checkpoint-2", "latest checkpoint-2",
                "deleted checkpoint-2", "latest checkpoint-4", "latest checkpoint-5")), points.toString());

        for (int k = 0; k < points.size(); k++) {
            Path out = tmp.resolve("kill-" + k);
            int at = k;
            assertThrows(Kill.class, () -> run(out, false, at), "a kill at " + points.get(k));
            try {
                run(out, true, at);                                 // killed again at the same point of the resumed run
            } catch (Kill again) {
                // the resumed run reached the point again: the protocol must survive a second kill there too
            }
            Map<String, int[]> resumed = run(out, true, -1);
            String where = "killed at " + points.get(k) + " (twice), then resumed";
            assertEquals(straight.keySet(), resumed.keySet(), where);
            straight.forEach((name, bits) -> assertArrayEquals(bits, resumed.get(name), where + ": " + name));
            assertEquals(Set.of("checkpoint-5", Checkpoints.LATEST), Set.of(Files.list(out.resolve(Checkpoints.DIR))
                    .map(p -> p.getFileName().toString()).toArray(String[]::new)), where + ": only the last checkpoint stays");
        }
    }

    /** Trains (or resumes) in {@code out}; with {@code killAt} ≥ 0 the run is killed at that protocol point. */
    private static Map<String, int[]> run(Path out, boolean resume, int killAt) {
        AtomicInteger seen = new AtomicInteger();
        if (killAt >= 0) {
            Checkpoints.crashPoint = p -> {
                if (seen.getAndIncrement() == killAt) throw new Kill(p);
            };
        }
        try {
            CausalLm m = ModelLoader.load(TINY);
            LoraInjector.apply(m, LORA, 7);
            Trainer t = new Trainer(m, train, List.of(), CFG);
            t.run(out, new Trainer.Options(resume, Set.of(), RunSettings.empty(), d -> AdapterIO.write(d, m, LORA)), s -> {});
            Map<String, int[]> bits = new LinkedHashMap<>();
            t.trainable().forEach((name, p) -> bits.put(name, bitsOf(p)));
            return bits;
        } finally {
            Checkpoints.crashPoint = p -> {};
        }
    }

    private static int[] bitsOf(Tensor t) {
        float[] d = t.data();
        int[] b = new int[d.length];
        for (int i = 0; i < d.length; i++) b[i] = Float.floatToRawIntBits(d[i]);
        return b;
    }
}
