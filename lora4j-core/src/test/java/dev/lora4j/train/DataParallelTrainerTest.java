package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.Documents;
import dev.lora4j.data.Window;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training (the {@link GradientAllReduce} hook) against one process: W workers with batch b, each a
 * thread with its own model, train as one process with batch W·b does. Not bit for bit: each row's forward is the same
 * bits, but each worker's weight gradient sums over its own rows and the all-reduce then adds the W partial sums, a
 * different float summation order than the single process's one matrix product over all rows (and the loss weights
 * scored_r/total · 1/count_r and 1/count round differently). So one step's gradient, from the same weights, agrees
 * within 1e-6 relative (largest difference over largest value). AdamW then divides each element by its own running
 * RMS, so an element much smaller than its tensor's largest (whose rounding is large relative to itself) still moves
 * by about lr: the rounding differences of small elements become differences in the weights, and the next gradients
 * differ by more than rounding. Over a run the losses stay within 1e-6 relative, the gradient norms and the adapter
 * (‖Δ‖/‖A‖ per tensor) within 1e-3 (seen: at most 2.6e-4, with the scalar kernels, three workers, four steps at lr 1e-2).
 */
class DataParallelTrainerTest {
    private static final Path TINY = TestData.dir("gpt2-tiny");
    private static final LoraConfig LORA = LoraConfig.defaults("gpt2").withR(4).withAlpha(8);
    private static List<Window> train;
    @TempDir
    Path tmp;

    @BeforeAll
    static void data() {
        try (Tokenizer tok = Tokenizer.load(TINY)) {
            train = Window.pack(Documents.load(TestData.dir("moby-dick").resolve("train.txt"), tok, 50257), 32);
        }
    }

    private static CausalLm loraModel() {
        return loraModel(LORA);
    }

    private static CausalLm loraModel(LoraConfig lora) {
        CausalLm m = ModelLoader.load(TINY);
        LoraInjector.apply(m, lora, 7);
        return m;
    }

    /** Trains {@code windows} on W threads, rank 0 writing into {@code out}; every rank must end with the same bits. */
    private Run parallel(int W, List<Window> windows, TrainConfig global, Path out) throws Exception {
        return parallel(W, windows, global, out, LORA);
    }

    private Run parallel(int W, List<Window> windows, TrainConfig global, Path out, LoraConfig lora) throws Exception {
        ThreadAllReduce group = new ThreadAllReduce(W);
        List<CausalLm> models = new ArrayList<>();
        for (int r = 0; r < W; r++) models.add(loraModel(lora));
        Run run = new Run(models.get(0), new ArrayList<>(), new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(W);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < W; r++) {
                int rank = r;
                CausalLm m = models.get(r);
                done.add(pool.submit(() -> new Trainer(new CausalLmTask(m, windows, List.of(), global.batchSize()), global, group.rank(rank))
                        .run(out, new Trainer.Options(false, Set.of(), RunSettings.empty(), d -> AdapterIO.write(d, m, LORA)), s -> {
                            if (rank == 0) run.record(s);
                        })));
            }
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdownNow();
        }
        Map<String, Tensor> first = AdapterIO.tensors(models.get(0), LORA);
        for (int r = 1; r < W; r++) {
            Map<String, Tensor> mine = AdapterIO.tensors(models.get(r), LORA);
            for (var e : first.entrySet()) {
                assertArrayEquals(e.getValue().data(), mine.get(e.getKey()).data(), "rank " + r + " holds other weights for " + e.getKey());
                assertArrayEquals(e.getValue().gradOrNull(), mine.get(e.getKey()).gradOrNull(), "rank " + r + " holds another gradient for " + e.getKey());
            }
        }
        return run;
    }

    private Run single(List<Window> windows, TrainConfig cfg) {
        return single(windows, cfg, LORA);
    }

    private Run single(List<Window> windows, TrainConfig cfg, LoraConfig lora) {
        Run run = new Run(loraModel(lora), new ArrayList<>(), new ArrayList<>());
        new Trainer(run.model, windows, List.of(), cfg).run(tmp.resolve("single"), Trainer.Options.fresh(), run::record);
        return run;
    }

    /** Rank 0's model (its last step's gradients still in place), and each step's loss and gradient norm. */
    private record Run(CausalLm model, List<Double> losses, List<Double> norms) {
        void record(Trainer.StepMetrics s) {
            losses.add(s.loss());
            norms.add(s.gradNorm());
        }

        Map<String, Tensor> adapter() {
            return AdapterIO.tensors(model, LORA);
        }
    }

    /** Each step's loss within 1e-6 relative; gradient norms and the adapter (‖Δ‖/‖expected‖ per tensor) within {@code tolerance}. */
    private static void assertClose(Run expected, Run actual, double tolerance) {
        assertEquals(expected.losses.size(), actual.losses.size());
        for (int i = 0; i < expected.losses.size(); i++) {
            assertEquals(expected.losses.get(i), actual.losses.get(i), 1e-6 * Math.abs(expected.losses.get(i)), "loss of step " + (i + 1));
            assertEquals(expected.norms.get(i), actual.norms.get(i), tolerance * expected.norms.get(i), "gradient norm of step " + (i + 1));
        }
        Map<String, Tensor> a = actual.adapter();
        assertEquals(expected.adapter().keySet(), a.keySet());
        expected.adapter().forEach((k, t) -> {
            double err = frobeniusError(a.get(k).data(), t.data());
            assertTrue(err <= tolerance, k + ": relative error " + err);
        });
    }

    private static double frobeniusError(float[] a, float[] e) {
        double d = 0, n = 0;
        for (int i = 0; i < e.length; i++) {
            d += ((double) a[i] - e[i]) * ((double) a[i] - e[i]);
            n += (double) e[i] * e[i];
        }
        return Math.sqrt(d / n);
    }

    @Test
    void oneStepsGradientOfTwoWorkersIsThatOfOneProcessWithBatchTwoB() throws Exception {
        TrainConfig cfg = TrainConfig.builder().lr(1e-2f).maxSteps(1).batchSize(8).gradAccum(2).seqLen(32).maxGradNorm(0).build();
        Run one = single(train, cfg), two = parallel(2, train, cfg, tmp.resolve("step"));
        Map<String, Tensor> a = two.adapter();
        one.adapter().forEach((k, t) -> {
            if (t.gradOrNull() == null) return;                                   // lora_A's is zero: B starts at zero
            double err = TestData.relativeError(a.get(k).gradOrNull(), t.gradOrNull());
            assertTrue(err <= 1e-6, k + ": gradient relative error " + err);
        });
        assertClose(one, two, 1e-5);
    }

    @Test
    void twoWorkersWithBatchBTrainAsOneProcessWithBatchTwoB() throws Exception {
        TrainConfig cfg = TrainConfig.builder().lr(1e-2f).maxSteps(12).batchSize(8).gradAccum(2).seqLen(32).saveEvery(5).build();
        Run one = single(train, cfg);
        Path out = tmp.resolve("parallel");
        Run two = parallel(2, train, cfg, out);
        assertClose(one, two, 1e-3);
        assertTrue(Files.isRegularFile(out.resolve("checkpoints/checkpoint-12/adapter_model.safetensors")), "rank 0 checkpoints");
        assertFalse(Files.exists(out.resolve("checkpoints/checkpoint-5")), "promoted past it");
    }

    /**
     * Two workers with batch b and one process with batch b and accumulation 2 add the same two gradients: each
     * micro-batch's (shard's) gradient is computed alone, from zero, on the same rows with the same shapes, and the two
     * are added once in float (the all-reduce adds two floats in double and rounds once, which is the float sum). The
     * dropout masks of a shard are those of the same rows in the one process, and every window scores the same number
     * of tokens, so each shard's loss weight is 1/2 as the accumulation's is. So: the same bits, with either kernel set.
     */
    @Test
    void twoWorkersAreOneProcessAccumulatingTheirTwoBatchesBitForBit() throws Exception {
        LoraConfig dropout = LORA.withDropout(0.1);
        TrainConfig accumulated = TrainConfig.builder().lr(1e-2f).maxSteps(3).batchSize(4).gradAccum(2).seqLen(32).build();
        Run one = single(train, accumulated, dropout);
        Run two = parallel(2, train, accumulated.toBuilder().batchSize(8).gradAccum(1).build(), tmp.resolve("two"), dropout);
        assertEquals(one.losses, two.losses);
        assertEquals(one.norms, two.norms);
        Map<String, Tensor> a = two.adapter();
        one.adapter().forEach((k, t) -> assertArrayEquals(t.data(), a.get(k).data(), k));
    }

    /** 20 windows in micro-batches of 6: the last holds 2, all rank 0's, so ranks 1 and 2 contribute nothing to it. */
    @Test
    void aShortLastBatchLeavesWorkersEmptyHandedAndStillMatches() throws Exception {
        List<Window> twenty = train.subList(0, 20);
        TrainConfig cfg = TrainConfig.builder().lr(1e-2f).epochs(2).batchSize(6).gradAccum(2).seqLen(32).build();
        Run one = single(twenty, cfg);
        Run three = parallel(3, twenty, cfg, tmp.resolve("three"));
        assertEquals(4, three.losses.size());
        assertClose(one, three, 1e-3);
    }

    @Test
    void aBatchThatDoesNotSplitEvenlyIsRefused() {
        String msg = assertThrows(Lora4jException.class, () -> new Trainer(new CausalLmTask(loraModel(), train, List.of(), 5),
                TrainConfig.builder().batchSize(5).build(), new ThreadAllReduce(2).rank(0))).getMessage();
        assertTrue(msg.contains("batch_size 5") && msg.contains("2 workers"), msg);
    }
}
