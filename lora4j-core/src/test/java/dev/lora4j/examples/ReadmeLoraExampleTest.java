package dev.lora4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.data.Documents;
import dev.lora4j.data.Window;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.generate.Generator;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.Merger;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import dev.lora4j.train.TrainConfig;
import dev.lora4j.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's LoRA program (load, apply LoRA, train, save, merge, generate), statement for statement. */
class ReadmeLoraExampleTest {
    @TempDir
    Path out;

    @Test
    void readmeLoraExampleRuns() {
        Path base = TestData.dir("gpt2-tiny-sotu");                     // README: Path.of("testdata/gpt2-tiny-sotu")
        Path text = TestData.dir("moby-dick").resolve("train.txt");     // README: Path.of("testdata/moby-dick/train.txt")
        // --- README example starts
        CausalLm model = ModelLoader.load(base);
        LoraConfig lora = LoraConfig.defaults(model.modelType()).withR(8).withAlpha(16);
        LoraInjector.Report report = LoraInjector.apply(model, lora, 42);       // report.summary(): trainable params ...
        try (Tokenizer tokenizer = Tokenizer.load(base)) {
            List<Window> data = Window.pack(Documents.load(text, tokenizer, model.vocabSize()), 64);
            new Trainer(model, data, List.of(), TrainConfig.builder().lr(5e-3f).maxSteps(10).seqLen(64).build()).run(out.resolve("run"));
            AdapterIO.save(out.resolve("adapter"), model, lora);               // a PEFT adapter directory
            Merger.merge(model);                                               // W += scale·B·A
            ModelSaver.save(base, model, out.resolve("merged"));               // a plain Hugging Face model
            int[] generated = Generator.generate(model, tokenizer.encode("Call me Ishmael."), GenerationConfig.greedy(20), id -> {}).tokens();
            String continuation = tokenizer.decode(generated);
            // --- README example ends
            assertTrue(report.trainablePercent() < 5, report.summary());
            assertTrue(Files.exists(out.resolve("adapter/adapter_model.safetensors")));
            assertEquals(20, generated.length);
            assertTrue(!continuation.isEmpty());
            double merged = Evaluator.evaluate(ModelLoader.load(out.resolve("merged")), data.subList(0, 8), 8, n -> {}).loss();
            assertEquals(Evaluator.evaluate(model, data.subList(0, 8), 8, n -> {}).loss(), merged, 1e-5 * merged);
        }
    }
}
