package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.testing.TestData;
import dev.lora4j.train.LrSchedule;
import dev.lora4j.train.SequenceClassificationTask;
import dev.lora4j.train.RunSettings;
import dev.lora4j.train.TrainConfig;
import dev.lora4j.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA sequence classification end to end on the tiny BERT: the SEQ_CLS adapter (query/value + the classifier in
 * modules_to_save) trains to separate the fixture sentences, is saved under PEFT's keys with its label map, and
 * loads back onto a fresh model with identical predictions. Also the tokenizer against known ids.
 */
class SequenceClassificationTrainingTest {
    @TempDir
    Path tmp;

    @Test
    void aLoraClassifierLearnsTheFixtureAndRoundTripsAsAPeftAdapter() throws Exception {
        Path tiny = TestData.dir("bert-tiny");
        LabelledTexts train = LabelledTexts.read(TestData.dir("labelled").resolve("train.jsonl"));
        LabelledTexts valid = LabelledTexts.read(TestData.dir("labelled").resolve("valid.csv"));
        LabelMap labels = train.labelMap();
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(tiny, labels, 3);
        BertForSequenceClassification model = loaded.model();
        LoraConfig lora = SequenceClassificationTask.loraConfig("bert", loaded.newlyInitialised()).withR(4).withAlpha(8);
        LoraInjector.Report report = LoraInjector.apply(model, lora, 3);
        assertEquals(4, report.targeted().size());
        List<SequenceClassificationTask.Example> trainSet, validSet;
        try (EncoderTokenizer tok = EncoderTokenizer.load(tiny, 32)) {
            trainSet = SequenceClassificationTask.examples(train, labels, tok);
            validSet = SequenceClassificationTask.examples(valid, labels, tok);
        }
        double before = SequenceClassificationTask.evaluate(model, validSet, 8, n -> {}).metrics().accuracy();
        TrainConfig cfg = new TrainConfig(2e-2f, 1, 100, 16, 1, 32, 0, LrSchedule.CONSTANT, 0f, 1f, 5, 0, 0, false);
        Path out = tmp.resolve("run");
        Files.createDirectories(out);
        new Trainer(new SequenceClassificationTask(model, trainSet, validSet, 8), cfg).run(out, new Trainer.Options(false, Set.of(),
                RunSettings.empty(), dir -> {
                    AdapterIO.write(dir, model, lora);
                    labels.write(dir);
                }), m -> {});
        SequenceClassificationTask.Evaluation after = SequenceClassificationTask.evaluate(model, validSet, 8, n -> {});
        assertTrue(after.metrics().accuracy() >= 0.85 && after.metrics().accuracy() >= before + 0.25,
                "accuracy " + before + " -> " + after.metrics().accuracy());
        assertTrue(SequenceClassificationTask.evaluate(model, trainSet, 16, n -> {}).metrics().accuracy() >= 0.9, "fits its training set");
        SequenceClassificationTask.Evaluation one = SequenceClassificationTask.evaluate(model, validSet, 1, n -> {});
        SequenceClassificationTask.Evaluation filled =                    // a short last batch, filled up and ignored
                SequenceClassificationTask.evaluate(model, validSet, validSet.size() / 2 + 1, n -> {});
        assertArrayEquals(one.predicted(), filled.predicted());
        assertEquals(one.loss(), filled.loss(), 1e-6 * one.loss(), "the filler texts do not count in the loss");

        Path adapter = out.resolve("checkpoints/checkpoint-100");
        Set<String> keys = new TreeSet<>(AdapterIO.tensors(model, lora).keySet());
        assertTrue(keys.contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"), keys.toString());
        assertTrue(keys.containsAll(List.of("base_model.model.classifier.weight", "base_model.model.classifier.bias")), keys.toString());
        assertEquals(10, keys.size(), "4 modules × (A, B) + classifier weight and bias");
        assertTrue(Files.readString(adapter.resolve(AdapterIO.CONFIG_FILE)).contains("\"SEQ_CLS\""));
        LabelMap saved = LabelMap.read(adapter.resolve(LabelMap.FILE));
        BertForSequenceClassification again = ModelLoader.loadSequenceClassifier(tiny, saved, 99).model();
        AdapterIO.load(adapter, again);
        EncoderBatch batch = EncoderBatch.of(validSet.stream().map(SequenceClassificationTask.Example::text).toList(), 0);
        float[][] p = model.probabilities(batch), q = again.probabilities(batch);
        for (int i = 0; i < p.length; i++) assertArrayEquals(p[i], q[i], 1e-6f);
    }

    @Test
    void theTokenizerAddsSpecialTokensAndTruncatesAsHuggingFace() throws Exception {
        try (EncoderTokenizer tok = EncoderTokenizer.load(TestData.dir("bert-tiny"), 6)) {
            EncoderTokenizer.Encoded e = tok.encode("The MOVIE was good!");
            assertArrayEquals(new int[] {2, 46, 34, 52, 10, 3}, e.inputIds(), "[CLS] the movie was good [SEP]: '!' cut at 6 tokens");
            assertArrayEquals(new int[6], e.tokenTypeIds());
        }
        Path minilm = Files.createDirectories(tmp.resolve("minilm"));
        try (var in = getClass().getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, minilm.resolve("tokenizer.json"));
        }
        try (EncoderTokenizer tok = EncoderTokenizer.load(minilm, 128)) {
            assertArrayEquals(new int[] {101, 7592, 2088, 102}, tok.encode("hello world").inputIds(), "DATA.md's ids, no padding to 128");
            assertArrayEquals(new int[] {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102},
                    tok.encode("The quick brown fox jumps over the lazy dog.").inputIds());
        }
    }
}
