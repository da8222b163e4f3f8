package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.tensor.Workspace;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, item 1: a classification corpus of texts of varied lengths (batches padded to a different length at
 * almost every step) must not cost the heap more than a corpus of uniform, longest texts with the same batch and
 * sequence length. The measure is what the training workspace allocates over the run (its arrays that were not
 * reused): what the garbage collector must then reclaim, and what made MiniLM's peak RSS reach 8 GB instead of 1.4 GB.
 */
class VariedLengthMemoryTest {
    private static final Path TINY = TestData.dir("bert-tiny");
    @TempDir
    Path tmp;

    @Test
    void variedLengthsCostNoMoreThanUniformOnes() throws IOException {
        Path uniform = corpus("uniform.jsonl", true), varied = corpus("varied.jsonl", false);
        long u = allocatedOverRun(uniform, false);
        long grouped = allocatedOverRun(varied, true);
        assertTrue(grouped <= 1.2 * u, "workspace allocations with group_by_length: varied " + grouped + " B, uniform " + u + " B");
        long shuffled = allocatedOverRun(varied, false);     // a longer batch after shorter ones adds its arrays once
        assertTrue(shuffled <= 2 * u, "workspace allocations in random order: varied " + shuffled + " B, uniform " + u + " B");
    }

    /** 160 texts of 2 labels from the words of testdata/labelled: all 30 words long, or 1 to 30 words. */
    private Path corpus(String name, boolean uniform) throws IOException {
        List<String> words = new ArrayList<>();
        for (String line : Files.readAllLines(TestData.dir("labelled").resolve("train.jsonl"))) {
            for (String w : line.replaceAll("\\{\"text\": \"|\", \"label\".*", "").split(" ")) words.add(w.replaceAll("[^a-z]", ""));
        }
        SplittableRandom rnd = new SplittableRandom(11);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 160; i++) {
            int n = uniform ? 30 : 1 + rnd.nextInt(30);
            StringBuilder text = new StringBuilder();
            for (int j = 0; j < n; j++) text.append(j == 0 ? "" : " ").append(words.get(rnd.nextInt(words.size())));
            lines.add("{\"text\": \"" + text + "\", \"label\": \"" + (i % 2 == 0 ? "a" : "b") + "\"}");
        }
        return Files.write(tmp.resolve(name), lines);
    }

    private long allocatedOverRun(Path data, boolean grouped) {
        LabelledTexts texts = LabelledTexts.read(data);
        LabelMap labels = texts.labelMap();
        BertForSequenceClassification model = ModelLoader.loadSequenceClassifier(TINY, labels, 1).model();
        LoraInjector.apply(model, SequenceClassificationTask.loraConfig("bert", List.of("classifier.weight")).withR(4), 1);
        List<SequenceClassificationTask.Example> examples;
        try (EncoderTokenizer tok = EncoderTokenizer.load(TINY, 32)) {
            examples = SequenceClassificationTask.examples(texts, labels, tok);
        }
        long[] allocated = new long[1];
        new Trainer(new SequenceClassificationTask(model, examples, List.of(), 16),
                TrainConfig.builder().lr(1e-3f).maxSteps(30).batchSize(16).seqLen(32).saveEvery(0).groupByLength(grouped).build())
                .run(tmp.resolve(data.getFileName() + ".run" + grouped), Trainer.Options.fresh(), m -> allocated[0] = Workspace.allocatedBytes());
        return allocated[0];
    }
}
