package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.io.HfConfig;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.testing.TestData;
import dev.lora4j.train.SequenceClassificationTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fully fine-tuned classifier saved as an HF directory reads back as the same model, config and labels included. */
class BertSaverTest {
    @TempDir
    Path tmp;

    @Test
    void theConfigJsonReadsBackToAnEqualRecord() {
        for (String kind : List.of("bert-golden", "roberta-golden", "bert-tiny")) {
            BertConfig c = ModelLoader.encoderConfig(TestData.dir(kind));
            for (BertConfig config : List.of(c, c.withLabels(new LabelMap(List.of("ham", "spam", "eggs"))))) {
                assertEquals(config, BertConfig.from(HfConfig.parse(config.toConfigJson(), kind)), kind);
            }
        }
    }

    @Test
    void aSavedClassifierLoadsBackWithItsWeightsLabelsAndTokenizer() {
        Path tiny = TestData.dir("bert-tiny");
        LabelMap labels = new LabelMap(List.of("negative", "positive"));
        BertForSequenceClassification model = ModelLoader.loadSequenceClassifier(tiny, labels, 5).model();
        model.namedParameters().get("bert.encoder.layer.0.attention.self.query.weight").data()[3] = 0.625f;   // "trained"
        Path out = tmp.resolve("model");
        BertSaver.writeInto(model, tiny, createDirectory(out));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")) && Files.isRegularFile(out.resolve("tokenizer_config.json")));
        BertLoader.Loaded<BertForSequenceClassification> back = ModelLoader.loadSequenceClassifier(out, null, 0);
        assertEquals(List.of(), back.newlyInitialised(), "nothing random: the head is in the file");
        assertEquals(labels, back.model().labels());
        assertEquals(model.namedParameters().keySet(), back.model().namedParameters().keySet());
        model.namedParameters().forEach((name, p) -> assertArrayEquals(p.data(), back.model().namedParameters().get(name).data(), name));

        Path fromFile = tmp.resolve("from-a-file");                 // a base given as a file (an .onnx export): tokenizer beside it
        BertSaver.writeInto(model, tiny.resolve("model.safetensors"), createDirectory(fromFile));
        assertTrue(Files.isRegularFile(fromFile.resolve("tokenizer.json")) && Files.isRegularFile(fromFile.resolve("tokenizer_config.json")));
    }

    @Test
    void aModelWithLoraLayersIsRefused() {
        Path tiny = TestData.dir("bert-tiny");
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(tiny, new LabelMap(List.of("a", "b")), 5);
        LoraConfig lora = SequenceClassificationTask.loraConfig("bert", loaded.newlyInitialised());
        LoraInjector.apply(loaded.model(), lora, 1);
        String msg = assertThrows(Lora4jException.class, () -> BertSaver.writeInto(loaded.model(), tiny, createDirectory(tmp.resolve("m")))).getMessage();
        assertTrue(msg.contains(".lora_") && msg.contains("merge the adapter first"), msg);
    }

    private static Path createDirectory(Path p) {
        try {
            return Files.createDirectories(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
