package dev.lora4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.inference.TextClassifier;
import dev.lora4j.inference.TextEmbedder;
import dev.lora4j.inference.TextGenerator;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.Merger;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.testing.TestData;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.LrSchedule;
import dev.lora4j.train.Method;
import dev.lora4j.train.TrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Java API program (fine-tune, generate, merge; fine-tune a classifier, classify, embed), statement for statement. */
class ReadmeLoraExampleTest {
    @TempDir
    Path out;

    @Test
    void readmeLoraExampleRuns() {
        Path base = TestData.dir("gpt2-tiny-sotu");                     // README: Path.of("testdata/gpt2-tiny-sotu")
        Path text = TestData.dir("moby-dick").resolve("train.txt");     // README: Path.of("testdata/moby-dick/train.txt")
        Path encoder = TestData.dir("bert-tiny");                       // README: Path.of("testdata/bert-tiny")
        Path labelled = TestData.dir("labelled").resolve("train.jsonl"); // README: Path.of("testdata/labelled/train.jsonl")
        // --- README example starts
        // Fine-tune with LoRA: a PEFT adapter directory (+ metrics.jsonl, checkpoints/) in out/adapter
        FineTune.Result run = FineTune.builder()
                .model(base)
                .data(text)
                .output(out.resolve("adapter"))
                .method(Method.lora(LoraConfig.peftDefaults().withR(8).withAlpha(16)))
                .config(TrainConfig.builder().lr(5e-3f).maxSteps(10).seqLen(64).build())
                .build()
                .run();

        // Generate with the adapter applied (unmerged)
        String continuation;
        try (TextGenerator gpt = TextGenerator.load(base, run.output())) {
            continuation = gpt.generate("Call me Ishmael.", GenerationConfig.greedy(20));
        }

        // Merge it into the base: a plain Hugging Face model that runs at the base's speed
        CausalLm model = ModelLoader.load(base);
        AdapterIO.load(run.output(), model);
        Merger.merge(model);                                            // W += scale·B·A
        ModelSaver.save(base, model, out.resolve("merged"));

        // A classifier: LoRA on an encoder plus its classification head, from labelled texts
        FineTune.Result classifier = FineTune.builder()
                .model(encoder)
                .data(labelled)
                .output(out.resolve("classifier"))
                .method(Method.lora(LoraConfig.peftDefaults().withR(4).withAlpha(8)))
                .config(TrainConfig.builder().lr(2e-2f).maxSteps(100).batchSize(16).schedule(LrSchedule.CONSTANT).build())
                .build()
                .run();
        try (TextClassifier sentiment = TextClassifier.load(encoder, classifier.output());
             TextEmbedder embedder = TextEmbedder.load(encoder)) {
            TextClassifier.Prediction p = sentiment.classify("a nice day, superb time");   // p.label(), p.probabilities()
            float[] vector = embedder.embed("a nice day, superb time");                    // mean-pooled, as sentence-transformers
            // --- README example ends
            assertTrue(run.plan().report().trainablePercent() < 5, run.plan().report().summary());
            assertTrue(Files.exists(out.resolve("adapter/adapter_model.safetensors")));
            assertTrue(!continuation.isEmpty());
            try (TextGenerator merged = TextGenerator.load(out.resolve("merged"))) {
                assertEquals(continuation, merged.generate("Call me Ishmael.", GenerationConfig.greedy(20)), "merged = unmerged, greedy");
            }
            assertEquals("positive", p.label(), p.toString());
            assertTrue(sentiment.evaluate(TestData.dir("labelled").resolve("valid.tsv"), 8, n -> {}).metrics().accuracy() >= 0.75);
            assertEquals(List.of("negative", "positive"), sentiment.labels().id2label());
            assertEquals(embedder.dimensions(), vector.length);
            assertTrue(classifier.lastEval().isEmpty(), "no evaluation data was given");
        }
    }
}
