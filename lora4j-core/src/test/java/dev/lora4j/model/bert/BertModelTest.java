package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Padding, pooling and loading of the BERT family on the golden checkpoints. */
class BertModelTest {
    @TempDir
    Path tmp;

    private static EncoderTokenizer.Encoded text(int... ids) {
        return new EncoderTokenizer.Encoded(ids, new int[ids.length]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert", "roberta"})
    void aSequencesLogitsDoNotDependOnThePaddingAroundIt(String kind) {
        BertForSequenceClassification model = ModelLoader.loadSequenceClassifier(TestData.dir(kind + "-golden"), null, 0).model();
        int pad = model.config().padTokenId();
        EncoderTokenizer.Encoded a = text(0, 17, 42, 9, 2), b = text(0, 33, 2);
        float[] alone = model.forward(Tape.noGrad(), EncoderBatch.of(List.of(b), pad)).data();
        float[] padded = model.forward(Tape.noGrad(), EncoderBatch.of(List.of(a, b), pad)).data();
        float[] batch = Arrays.copyOfRange(padded, 3, 6);
        for (int j = 0; j < 3; j++) assertEquals(alone[j], batch[j], 1e-5f * (1 + Math.abs(alone[j])), "logit " + j);
        assertArrayEquals(model.probabilities(EncoderBatch.of(List.of(b), pad))[0],
                model.probabilities(EncoderBatch.of(List.of(a, b, a), pad))[1], 1e-5f);
    }

    @Test
    void meanPooledEmbeddingsAreUnitVectorsAndIgnorePadding() {
        BertModel encoder = ModelLoader.loadEncoder(TestData.dir("bert-tiny"));
        assertTrue(encoder.hasPooler());
        EncoderTokenizer.Encoded a = text(2, 17, 42, 9, 31, 3), b = text(2, 55, 3);
        float[][] both = SentenceEmbeddings.meanPooled(encoder, EncoderBatch.of(List.of(a, b), 0));
        float[][] alone = SentenceEmbeddings.meanPooled(encoder, EncoderBatch.of(List.of(b), 0));
        for (float[] v : both) {
            double n = 0;
            for (float x : v) n += x * x;
            assertEquals(1.0, Math.sqrt(n), 1e-6);
        }
        assertArrayEquals(alone[0], both[1], 1e-6f);
        assertFalse(Arrays.equals(both[0], both[1]));
    }

    @Test
    void robertaPositionsStartAfterThePaddingIndexAndSkipPads() {
        BertModel encoder = ModelLoader.loadSequenceClassifier(TestData.dir("roberta-golden"), null, 0).model().encoder();
        EncoderBatch batch = new EncoderBatch(new int[] {0, 7, 2, 1, 0, 1, 1, 1}, new int[8], new int[] {1, 1, 1, 0, 1, 0, 0, 0}, 2, 4);
        assertArrayEquals(new int[] {2, 3, 4, 1, 2, 1, 1, 1}, encoder.positionIds(batch));
    }

    @Test
    void aBareEncoderGetsANewSeededClassifierAndTaskKeysLoadWithOrWithoutPrefix() throws IOException {
        Path tiny = TestData.dir("bert-tiny");
        LabelMap labels = new LabelMap(List.of("no", "yes"));
        BertLoader.Loaded<BertForSequenceClassification> a = ModelLoader.loadSequenceClassifier(tiny, labels, 7);
        assertEquals(List.of("classifier.weight", "classifier.bias"), a.newlyInitialised());
        float[] w = a.model().namedParameters().get("classifier.weight").data();
        assertArrayEquals(w, ModelLoader.loadSequenceClassifier(tiny, labels, 7).model().namedParameters().get("classifier.weight").data());
        double sq = 0;
        for (float x : w) sq += x * x;
        assertEquals(0.02, Math.sqrt(sq / w.length), 0.006, "HF's init: N(0, initializer_range)");

        Map<String, Tensor> golden = readAll(TestData.dir("bert-golden").resolve("model.safetensors"));
        BertModel plain = ModelLoader.loadEncoder(TestData.dir("bert-golden"));
        assertArrayEquals(golden.get("bert.encoder.layer.1.output.dense.weight").data(),
                plain.namedParameters().get("encoder.layer.1.output.dense.weight").data(), "bert. prefix stripped, classifier ignored");

        Path noPooler = copy("bert-golden", "no-pooler", m -> {
            m.remove("bert.pooler.dense.weight");
            m.remove("bert.pooler.dense.bias");
            m.put("bert.embeddings.position_ids", Tensor.zeros(1, 32));
        });
        assertFalse(ModelLoader.loadEncoder(noPooler).hasPooler());
        assertEquals(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias"),
                ModelLoader.loadSequenceClassifier(noPooler, null, 0).newlyInitialised(), "HF initialises a missing pooler");
    }

    @Test
    void loadingErrorsListEveryProblem() throws IOException {
        String msg = assertThrows(Lora4jException.class, () -> ModelLoader.loadSequenceClassifier(TestData.dir("bert-golden"),
                new LabelMap(List.of("a", "b")), 0)).getMessage();
        assertTrue(msg.contains("classifier.weight: checkpoint [3, 32], model expects [2, 32]") && msg.contains("number of labels"), msg);

        Path broken = copy("roberta-golden", "broken", m -> {
            m.remove("roberta.encoder.layer.1.output.LayerNorm.bias");
            m.remove("classifier.out_proj.bias");
            m.put("roberta.encoder.layer.0.attention.self.qkv.weight", Tensor.zeros(2, 2));
        });
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.loadSequenceClassifier(broken, null, 0)).getMessage();
        for (String s : List.of("missing (1): roberta.encoder.layer.1.output.LayerNorm.bias", "unexpected (1)", "self.qkv.weight")) {
            assertTrue(msg.contains(s), msg);
        }
        Files.writeString(broken.resolve("config.json"), Files.readString(broken.resolve("config.json")).replace("\"gelu\"", "\"relu\""));
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.loadEncoder(broken)).getMessage();
        assertTrue(msg.contains("config.json") && msg.contains("hidden_act 'relu'"), msg);
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(TestData.dir("bert-tiny"))).getMessage();
        assertTrue(msg.contains("is an encoder") && msg.contains("seq-cls"), msg);
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.loadSequenceClassifier(TestData.dir("bert-tiny"), null, 0)).getMessage();
        assertTrue(msg.contains("names no labels"), msg);
    }

    private Path copy(String fixture, String name, java.util.function.Consumer<Map<String, Tensor>> edit) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(TestData.dir(fixture).resolve("config.json"), dir.resolve("config.json"));
        Map<String, Tensor> tensors = readAll(TestData.dir(fixture).resolve("model.safetensors"));
        edit.accept(tensors);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return dir;
    }

    private static Map<String, Tensor> readAll(Path file) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) out.put(n, f.read(n));
        }
        return out;
    }
}
