package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tape;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.data.Window;
import dev.lora4j.io.HfConfig;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.model.llama.LlamaModel;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.RandomInit;
import dev.lora4j.tensor.Workspace;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Activation recomputation ({@link TrainConfig#gradientCheckpointing()}) changes nothing but memory: a few training
 * steps with and without it give the same losses, gradient norms and adapter, bit for bit, for GPT-2 (attention,
 * residual and embedding dropout, LoRA dropout), Llama, Mistral's sliding window and a BERT classifier (its dropouts), the
 * sequences longer than one attention tile; and a step keeps only the blocks' inputs, not their activations.
 */
class GradientCheckpointingTest {
    private static final int T = 80;
    @TempDir
    Path tmp;

    @Test
    void gpt2WithEveryDropoutTrainsTheSameAdapter() throws IOException {
        Gpt2Config c = Gpt2Config.from(HfConfig.parse("{\"model_type\": \"gpt2\", \"vocab_size\": 300, \"n_embd\": 16, \"n_head\": 2,"
                + " \"n_layer\": 3, \"n_positions\": 128, \"attn_pdrop\": 0.1, \"resid_pdrop\": 0.1, \"embd_pdrop\": 0.1}", "gpt2"));
        assertSameTraining(() -> decoder(new Gpt2Model(c), "gpt2"), 300);
    }

    @Test
    void llamaAndMistralsSlidingWindowTrainTheSameAdapter() throws IOException {
        String llama = "{\"model_type\": \"llama\", \"vocab_size\": 300, \"hidden_size\": 16, \"intermediate_size\": 24,"
                + " \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 128}";
        String mistral = "{\"model_type\": \"mistral\", \"vocab_size\": 300, \"hidden_size\": 16, \"intermediate_size\": 24,"
                + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"max_position_embeddings\": 128,"
                + " \"sliding_window\": 20}";
        for (String json : List.of(llama, mistral)) {
            LlamaConfig c = LlamaConfig.from(HfConfig.parse(json, "config.json"));
            assertSameTraining(() -> decoder(new LlamaModel(c), "llama"), 300);
        }
    }

    @Test
    void bertClassifierWithDropoutTrainsTheSameAdapter() throws IOException {
        Path tiny = TestData.dir("bert-tiny");
        LabelledTexts texts = LabelledTexts.read(TestData.dir("labelled").resolve("train.jsonl"));
        LabelMap labels = texts.labelMap();
        List<SequenceClassificationTask.Example> examples;
        try (EncoderTokenizer tok = EncoderTokenizer.load(tiny, 32)) {
            examples = SequenceClassificationTask.examples(texts, labels, tok);
        }
        List<Map<String, float[]>> runs = new ArrayList<>();
        List<List<Trainer.StepMetrics>> steps = new ArrayList<>();
        for (boolean recompute : new boolean[] {false, true}) {
            BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(tiny, labels, 3);
            LoraInjector.apply(loaded.model(), SequenceClassificationTask.loraConfig("bert", loaded.newlyInitialised()).withR(4).withDropout(0.1), 3);
            steps.add(train(new SequenceClassificationTask(loaded.model(), examples, List.of(), 8), recompute, "bert" + recompute));
            runs.add(trained(loaded.model()));
        }
        assertSame(runs, steps, "bert");
    }

    @Test
    void aStepKeepsTheBlockInputsInsteadOfTheirActivations() {
        LlamaConfig c = LlamaConfig.from(HfConfig.parse("{\"model_type\": \"llama\", \"vocab_size\": 64, \"hidden_size\": 32,"
                + " \"intermediate_size\": 128, \"num_hidden_layers\": 8, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                + " \"max_position_embeddings\": 256}", "config.json"));
        CausalLm model = decoder(new LlamaModel(c), "llama");
        int[] ids = new SplittableRandom(1).ints(256, 0, 64).toArray();
        long[] bytes = new long[2];
        for (int pass = 0; pass < 2; pass++) {
            model.module().gradientCheckpointing(pass == 1);
            try (Workspace ws = Workspace.open()) {
                Tape tape = Tape.create();
                tape.backward(model.loss(tape, ids, 1, 256, ids));
                bytes[pass] = Workspace.allocatedBytes();
            }
        }
        assertTrue(bytes[1] < bytes[0] / 3, "with recomputation the step took " + bytes[1] + " bytes, without " + bytes[0]);
    }

    /** A randomly initialised decoder with LoRA (dropout 0.1) on its default targets. */
    private static CausalLm decoder(CausalLm model, String type) {
        RandomInit.apply(model.module(), 5);
        LoraInjector.apply(model, LoraConfig.defaults(type).withR(4).withAlpha(8).withDropout(0.1), 7);
        return model;
    }

    private void assertSameTraining(Supplier<CausalLm> model, int vocab) throws IOException {
        SplittableRandom rnd = new SplittableRandom(3);
        List<Window> windows = new ArrayList<>();
        for (int i = 0; i < 6; i++) windows.add(new Window(rnd.ints(T, 0, vocab).toArray(), rnd.ints(T, 0, vocab).toArray()));
        List<Map<String, float[]>> runs = new ArrayList<>();
        List<List<Trainer.StepMetrics>> steps = new ArrayList<>();
        String name = null;
        for (boolean recompute : new boolean[] {false, true}) {
            CausalLm m = model.get();
            name = m.modelType();
            steps.add(train(new CausalLmTask(m, windows, List.of(), 2), recompute, name + recompute));
            runs.add(trained(m.module()));
        }
        assertSame(runs, steps, name);
    }

    private List<Trainer.StepMetrics> train(TrainingTask task, boolean recompute, String dir) throws IOException {
        TrainConfig cfg = TrainConfig.builder().lr(1e-2f).maxSteps(3).batchSize(2).saveEvery(0).seed(9).gradientCheckpointing(recompute).build();
        List<Trainer.StepMetrics> steps = new ArrayList<>();
        new Trainer(task, cfg).run(Files.createDirectories(tmp.resolve(dir)), Trainer.Options.fresh(), steps::add);
        return steps;
    }

    private static Map<String, float[]> trained(Module m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) out.put(n, p.data().clone());
        });
        return out;
    }

    private static void assertSame(List<Map<String, float[]>> runs, List<List<Trainer.StepMetrics>> steps, String name) {
        Function<List<Trainer.StepMetrics>, List<String>> values = s -> s.stream().map(m -> m.loss() + " " + m.gradNorm()).toList();
        assertEquals(values.apply(steps.get(0)), values.apply(steps.get(1)), name + ": losses and gradient norms");
        assertEquals(runs.get(0).keySet(), runs.get(1).keySet());
        assertTrue(runs.get(0).values().stream().anyMatch(a -> a.length > 0));
        runs.get(0).forEach((n, a) -> assertArrayEquals(a, runs.get(1).get(n), name + ": " + n));
    }
}
