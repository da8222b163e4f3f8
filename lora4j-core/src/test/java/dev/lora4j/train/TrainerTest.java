package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.Documents;
import dev.lora4j.data.Window;
import dev.lora4j.eval.Evaluator;
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
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on real text (a Moby-Dick excerpt): it learns, resumes exactly, and stops cleanly on NaN. */
class TrainerTest {
    private static final Path TINY = TestData.dir("gpt2-tiny");
    private static List<Window> train;
    private static List<Window> valid;
    @TempDir
    Path tmp;

    @BeforeAll
    static void data() {
        try (Tokenizer tok = Tokenizer.load(TINY)) {
            train = Window.pack(Documents.load(TestData.dir("moby-dick").resolve("train.txt"), tok, 50257), 32);
            valid = Window.pack(Documents.load(TestData.dir("moby-dick").resolve("valid.txt"), tok, 50257), 32);
        }
    }

    private static final LoraConfig LORA = LoraConfig.defaults("gpt2").withR(4).withAlpha(8).withDropout(0.1);
    private static final TrainConfig CFG = TrainConfig.builder().lr(1e-2f).maxSteps(20).batchSize(4).gradAccum(2).seqLen(32).saveEvery(10).build();

    private static CausalLm loraModel() {
        CausalLm m = ModelLoader.load(TINY);
        LoraInjector.apply(m, LORA, 7);
        return m;
    }

    @Test
    void resumeAfterAKillGivesTheSameAdapterAsAStraightRun() throws IOException {
        CausalLm straight = loraModel();
        List<Double> losses = new ArrayList<>();
        new Trainer(straight, train, List.of(), CFG).run(tmp.resolve("a"), Trainer.Options.fresh(), m -> losses.add(m.loss()));
        assertEquals(20, losses.size());

        CausalLm first = loraModel();
        Path out = tmp.resolve("b");
        RuntimeException kill = assertThrows(RuntimeException.class, () -> new Trainer(first, train, List.of(), CFG)
                .run(out, exporting(first), m -> {
                    if (m.step() == 13) throw new IllegalStateException("killed");
                }));
        assertEquals("killed", kill.getMessage());
        assertTrue(Files.exists(out.resolve("checkpoints/checkpoint-10/adapter_model.safetensors")), "the checkpoint is a usable adapter");
        CausalLm resumed = loraModel();
        List<Double> later = new ArrayList<>();
        new Trainer(resumed, train, List.of(), CFG).run(out, resuming(Set.of()), m -> later.add(m.loss()));
        assertEquals(10, later.size(), "resumed at step 10");
        assertEquals(losses.get(19), later.get(9), 1e-6);
        Map<String, Tensor> a = AdapterIO.tensors(straight, LORA), b = AdapterIO.tensors(resumed, LORA);
        assertEquals(a.keySet(), b.keySet());
        a.forEach((k, t) -> assertTrue(TestData.relativeError(b.get(k).data(), t.data()) <= 1e-6, k));
    }

    /** The SOTU-pretrained tiny GPT-2 (tools/data/pretrain_tiny_sotu.sh) adapted to Moby-Dick with LoRA on c_attn. */
    @Test
    void loraLowersHeldOutLossOfAPretrainedBaseClearly() {
        CausalLm m = ModelLoader.load(TestData.dir("gpt2-tiny-sotu"));
        LoraInjector.apply(m, LoraConfig.defaults("gpt2").withR(8).withAlpha(16), 7);
        double before = Evaluator.evaluate(m, valid, 8, n -> {}).loss();
        new Trainer(m, train, List.of(), TrainConfig.builder().lr(1e-2f).maxSteps(40).batchSize(8).seqLen(32).build()).run(tmp.resolve("c"));
        double after = Evaluator.evaluate(m, valid, 8, n -> {}).loss();
        assertTrue(after < before - 0.05, "held-out loss " + before + " -> " + after);
    }

    @Test
    void aNonFiniteLossStopsTrainingAndKeepsTheLastCheckpoint() throws IOException {
        CausalLm m = loraModel();
        Path out = tmp.resolve("d");
        new Trainer(m, train, List.of(), CFG.toBuilder().maxSteps(10).build()).run(out, exporting(m), s -> {});
        Path last = out.resolve("checkpoints/checkpoint-10/trainable.safetensors");
        byte[] saved = Files.readAllBytes(last);
        CausalLm broken = loraModel();
        broken.module().namedParameters().get("ln_f.weight").data()[0] = Float.NaN;
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> new Trainer(broken, train, List.of(),
                CFG.toBuilder().maxSteps(10).saveEvery(1).build()).run(out, Trainer.Options.fresh(), s -> {}));
        assertTrue(e.getMessage().contains("step 1") && e.getMessage().contains("NaN") && e.getMessage().contains("checkpoint-10"), e.getMessage());
        assertEquals(out.resolve("checkpoints/checkpoint-10"), e.lastGood().orElseThrow());
        assertArrayEquals(saved, Files.readAllBytes(last), "last good checkpoint untouched");
    }

    /**
     * Issue 15, finding 3: an update whose loss was never seen must not become the checkpoint to resume from. Three good
     * steps, then a resumed run at lr 1e20: its first update diverges (the next loss is NaN); the checkpoint holding that
     * update is deleted and the one of step 3 stays the latest, so "lower lr, then resume" works.
     */
    @Test
    void aDivergedUpdateIsNeverTheCheckpointToResumeFrom() {
        Path out = tmp.resolve("nan");
        TrainConfig calm = CFG.toBuilder().maxSteps(6).saveEvery(1).schedule(LrSchedule.CONSTANT).build();
        CausalLm first = loraModel();
        assertThrows(IllegalStateException.class, () -> new Trainer(first, train, List.of(), calm).run(out, exporting(first), s -> {
            if (s.step() == 4) throw new IllegalStateException("killed");
        }));
        Path three = out.resolve("checkpoints/checkpoint-3");
        assertEquals(three, new Checkpoints(out).latest().orElseThrow());

        TrainConfig wild = calm.toBuilder().lr(1e20f).build();
        CausalLm diverging = loraModel();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> new Trainer(diverging, train, List.of(), wild).run(out, resuming(Set.of("lr")), s -> {}));
        assertEquals(5, e.step(), e.getMessage());
        assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("step 3"), e.getMessage());
        assertEquals(three, e.lastGood().orElseThrow());
        assertEquals(three, new Checkpoints(out).latest().orElseThrow());
        assertFalse(Files.exists(out.resolve("checkpoints/checkpoint-4")), "the checkpoint of the diverged update is deleted");

        String refused = assertThrows(Lora4jException.class, () -> new Trainer(loraModel(), train, List.of(), wild.toBuilder().lr(1e-3f).build())
                .run(out, resuming(Set.of()), s -> {})).getMessage();
        assertTrue(refused.contains("lr: 0.001 (checkpoint: 0.01)") && refused.contains("override"), refused);
        List<String> overridden = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        new Trainer(loraModel(), train, List.of(), wild.toBuilder().lr(1e-3f).build()).run(out, resuming(Set.of("lr")), new Trainer.Listener() {
            @Override
            public void onStep(Trainer.StepMetrics s) {
                losses.add(s.loss());
            }

            @Override
            public void onResume(int step, List<String> changes) {
                overridden.addAll(changes);
            }
        });
        assertEquals(List.of("lr: 0.01 → 0.001"), overridden);
        assertEquals(3, losses.size());
        assertTrue(losses.stream().allMatch(Double::isFinite), losses.toString());
    }

    @Test
    void resumingWithOtherSettingsIsRefusedUnlessNamedAndOverridable() {
        CausalLm m = loraModel();
        Path out = tmp.resolve("e");
        new Trainer(m, train, List.of(), CFG.toBuilder().maxSteps(2).build()).run(out);
        String msg = assertThrows(Lora4jException.class, () -> new Trainer(loraModel(), train, List.of(),
                CFG.toBuilder().maxSteps(2).batchSize(2).build()).run(out, resuming(Set.of()), s -> {})).getMessage();
        assertTrue(msg.contains("other settings") && msg.contains("batch_size: 2 (checkpoint: 4)"), msg);
        String weightDecay = assertThrows(Lora4jException.class, () -> new Trainer(loraModel(), train, List.of(),
                CFG.toBuilder().maxSteps(2).weightDecay(0.1f).build()).run(out, resuming(Set.of()), s -> {})).getMessage();
        assertTrue(weightDecay.contains("weight_decay: 0.1 (checkpoint: 0.0)"), weightDecay);
        String seed = assertThrows(Lora4jException.class, () -> resuming(Set.of("seed"))).getMessage();
        assertTrue(seed.contains("'seed' cannot be changed"), seed);
        List<Integer> steps = new ArrayList<>();
        new Trainer(loraModel(), train, List.of(), CFG.toBuilder().maxSteps(4).build()).run(out, resuming(Set.of("max_steps")), s -> steps.add(s.step()));
        assertEquals(List.of(3, 4), steps, "training longer, named");
    }

    /** Issue 15, finding 4: a corrupt trainer_state.json step ("ten", 1000) is refused, naming the file and field. */
    @Test
    void aCorruptTrainerStateIsRefused() throws IOException {
        Path out = tmp.resolve("f");
        new Trainer(loraModel(), train, List.of(), CFG.toBuilder().maxSteps(2).build()).run(out);
        Path state = out.resolve("checkpoints/checkpoint-2/trainer_state.json");
        String good = Files.readString(state);
        for (String bad : List.of("\"ten\"", "1000", "2.5", "-1")) {
            Files.writeString(state, good.replaceFirst("\"step\" : 2", "\"step\" : " + bad));
            String msg = assertThrows(Lora4jException.class, () -> new Trainer(loraModel(), train, List.of(), CFG.toBuilder().maxSteps(2).build())
                    .run(out, resuming(Set.of()), s -> {})).getMessage();
            assertTrue(msg.contains("trainer_state.json") && msg.contains("'step' is " + bad.replace("\"", "\"")), msg);
        }
        Files.writeString(state, good.replaceFirst("\"micro_batches\" : 4", "\"micro_batches\" : 5"));
        String msg = assertThrows(Lora4jException.class, () -> new Trainer(loraModel(), train, List.of(), CFG.toBuilder().maxSteps(2).build())
                .run(out, resuming(Set.of()), s -> {})).getMessage();
        assertTrue(msg.contains("'micro_batches' is 5"), msg);
    }

    /** Issue 15, finding 8: a batch size of 2^31-1 (an overflow in the step count) trains on the data it has. */
    @Test
    void aHugeBatchSizeIsOneBatch() {
        Trainer t = new Trainer(loraModel(), train, List.of(), CFG.toBuilder().maxSteps(0).epochs(1).batchSize(Integer.MAX_VALUE).gradAccum(1).build());
        assertEquals(1, t.batchesPerEpoch());
        assertEquals(1, t.totalSteps());
        String msg = assertThrows(Lora4jException.class, () -> TrainConfig.builder().maxSteps(-5).build()).getMessage();
        assertTrue(msg.contains("max_steps") && msg.contains("-5"), msg);
    }

    private static Trainer.Options exporting(CausalLm m) {
        return new Trainer.Options(false, Set.of(), RunSettings.empty(), d -> AdapterIO.write(d, m, LORA));
    }

    private static Trainer.Options resuming(Set<String> overrides) {
        return new Trainer.Options(true, overrides, RunSettings.empty(), d -> {});
    }

    @Test
    void schedulesFollowHuggingFace() {
        assertEquals(0f, LrSchedule.COSINE.lr(1f, 0, 10, 110));
        assertEquals(0.5f, LrSchedule.COSINE.lr(1f, 5, 10, 110), 1e-6);
        assertEquals(1f, LrSchedule.COSINE.lr(1f, 10, 10, 110), 1e-6);
        assertEquals(0.5f, LrSchedule.COSINE.lr(1f, 60, 10, 110), 1e-6);
        assertEquals(0.5f, LrSchedule.LINEAR.lr(1f, 60, 10, 110), 1e-6);
        assertEquals(1f, LrSchedule.CONSTANT.lr(1f, 100, 10, 110));
    }
}
