package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.Documents;
import dev.lora4j.data.Window;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.CausalLm;
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
    private static final TrainConfig CFG = TrainConfig.defaults().withLr(1e-2f).withMaxSteps(20).withBatch(4, 2).withSeqLen(32).withSaveEvery(10);

    private static CausalLm loraModel() {
        CausalLm m = ModelLoader.load(TINY);
        LoraInjector.apply(m, LORA, 7);
        return m;
    }

    @Test
    void resumeAfterAKillGivesTheSameAdapterAsAStraightRun() throws IOException {
        CausalLm straight = loraModel();
        List<Double> losses = new ArrayList<>();
        new Trainer(straight, train, List.of(), CFG).run(tmp.resolve("a"), false, d -> {}, m -> losses.add(m.loss()));
        assertEquals(20, losses.size());

        CausalLm first = loraModel();
        Path out = tmp.resolve("b");
        RuntimeException kill = assertThrows(RuntimeException.class, () -> new Trainer(first, train, List.of(), CFG)
                .run(out, false, d -> AdapterIO.write(d, first, LORA), m -> {
                    if (m.step() == 13) throw new IllegalStateException("killed");
                }));
        assertEquals("killed", kill.getMessage());
        assertTrue(Files.exists(out.resolve("checkpoint/adapter_model.safetensors")), "the checkpoint is a usable adapter");
        CausalLm resumed = loraModel();
        List<Double> later = new ArrayList<>();
        new Trainer(resumed, train, List.of(), CFG).run(out, true, d -> {}, m -> later.add(m.loss()));
        assertEquals(10, later.size(), "resumed at step 10");
        assertEquals(losses.get(19), later.get(9), 1e-6);
        Map<String, Tensor> a = AdapterIO.tensors(straight), b = AdapterIO.tensors(resumed);
        assertEquals(a.keySet(), b.keySet());
        a.forEach((k, t) -> assertTrue(TestData.relativeError(b.get(k).data(), t.data()) <= 1e-6, k));
    }

    /** The SOTU-pretrained tiny GPT-2 (tools/data/pretrain_tiny_sotu.sh) adapted to Moby-Dick with LoRA on c_attn. */
    @Test
    void loraLowersHeldOutLossOfAPretrainedBaseClearly() {
        CausalLm m = ModelLoader.load(TestData.dir("gpt2-tiny-sotu"));
        LoraInjector.apply(m, LoraConfig.defaults("gpt2").withR(8).withAlpha(16), 7);
        double before = Evaluator.evaluate(m, valid, 8, n -> {}).loss();
        new Trainer(m, train, List.of(), TrainConfig.defaults().withLr(1e-2f).withMaxSteps(40).withBatch(8, 1).withSeqLen(32)).run(tmp.resolve("c"));
        double after = Evaluator.evaluate(m, valid, 8, n -> {}).loss();
        assertTrue(after < before - 0.05, "held-out loss " + before + " -> " + after);
    }

    @Test
    void aNonFiniteLossStopsTrainingAndKeepsTheLastCheckpoint() throws IOException {
        CausalLm m = loraModel();
        Path out = tmp.resolve("d");
        new Trainer(m, train, List.of(), CFG.withMaxSteps(10)).run(out, false, d -> AdapterIO.write(d, m, LORA), s -> {});
        byte[] saved = Files.readAllBytes(out.resolve("checkpoint/trainable.safetensors"));
        CausalLm broken = loraModel();
        broken.module().namedParameters().get("ln_f.weight").data()[0] = Float.NaN;
        String msg = assertThrows(Lora4jException.class, () -> new Trainer(broken, train, List.of(), CFG.withMaxSteps(10).withSaveEvery(1))
                .run(out, false, d -> {}, s -> {})).getMessage();
        assertTrue(msg.contains("step 1") && msg.contains("NaN") && msg.contains("checkpoint"), msg);
        assertArrayEquals(saved, Files.readAllBytes(out.resolve("checkpoint/trainable.safetensors")), "last good checkpoint untouched");
    }

    @Test
    void resumingWithOtherSettingsIsRefused() {
        CausalLm m = loraModel();
        Path out = tmp.resolve("e");
        new Trainer(m, train, List.of(), CFG.withMaxSteps(2)).run(out, false, d -> {}, s -> {});
        String msg = assertThrows(Lora4jException.class, () -> new Trainer(loraModel(), train, List.of(), CFG.withMaxSteps(2).withBatch(2, 2))
                .run(out, true, d -> {}, s -> {})).getMessage();
        assertTrue(msg.contains("other settings") && msg.contains("batch_size"), msg);
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
