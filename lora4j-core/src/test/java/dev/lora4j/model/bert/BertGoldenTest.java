package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import dev.lora4j.train.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * BERT and RoBERTa sequence classifiers against PyTorch (tools/golden/bert_golden.py, HF modeling_bert.py /
 * modeling_roberta.py semantics) on a padded batch: logits, loss, the gradient of every parameter and ten AdamW
 * losses; then a PEFT SEQ_CLS adapter (LoRA on query/value, classifier in modules_to_save): logits, loss, every
 * adapter gradient and ten AdamW losses on the adapter. Each within 1e-4 relative error; the max difference per
 * tensor goes to target/golden-report-{bert,roberta}.txt.
 */
class BertGoldenTest {
    private static final double TOLERANCE = 1e-4;
    private final List<String> report = new ArrayList<>();

    /** The golden batch of {@code dir/golden.json} and its labels. */
    record Golden(EncoderBatch batch, int[] labels, JsonNode json) {
        static Golden read(Path dir) {
            JsonNode j = TestData.json(dir.resolve("golden.json"));
            int B = j.get("input_ids").size(), T = j.get("input_ids").get(0).size();
            Function<String, int[]> flat = field -> {
                int[] out = new int[B * T];
                for (int b = 0; b < B; b++) System.arraycopy(TestData.ints(j.get(field).get(b)), 0, out, b * T, T);
                return out;
            };
            return new Golden(new EncoderBatch(flat.apply("input_ids"), flat.apply("token_type_ids"), flat.apply("attention_mask"), B, T),
                    TestData.ints(j.get("labels")), j);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert", "roberta"})
    void classifierAndAdapterMatchPyTorch(String kind) throws IOException {
        Path dir = TestData.dir(kind + "-golden");
        Golden golden = Golden.read(dir);
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(dir, null, 0);
        assertEquals(List.of(), loaded.newlyInitialised(), "a task checkpoint has its head");
        BertForSequenceClassification model = loaded.model();
        Map<String, Tensor> params = model.namedParameters();
        params.values().forEach(p -> p.requiresGrad(true));
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            Tape tape = Tape.create();
            Tensor logits = model.forward(tape, golden.batch());
            compare("logits", logits.data(), expected.read("logits").data());
            Tensor loss = CrossEntropy.apply(tape, logits, golden.labels());
            compare("loss", loss.data(), new float[] {(float) golden.json().get("loss").asDouble()});
            tape.backward(loss);
            assertEquals(params.size(), expected.names().size() - 1, "one golden gradient per parameter");
            params.forEach((name, p) -> {
                if (name.endsWith("attention.self.key.bias")) zero("grad." + name, p.grad(), expected.read("grad." + name).data());
                else compare("grad." + name, p.grad(), expected.read("grad." + name).data());
            });
        }
        compare("adamw losses", adamw(model, params, golden, golden.json().get("adamw")), expectedLosses(golden.json().get("adamw")));
        adapterMatchesPyTorch(kind, golden);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "golden-report-" + kind + ".txt"), report);
    }

    private void adapterMatchesPyTorch(String kind, Golden golden) {
        Path dir = TestData.dir(kind + "-golden-lora");
        JsonNode json = TestData.json(dir.resolve("golden.json"));
        BertForSequenceClassification model = ModelLoader.loadSequenceClassifier(TestData.dir(kind + "-golden"), null, 0).model();
        LoraInjector.Report r = AdapterIO.load(dir, model);
        assertEquals(json.get("lora_modules").size(), r.targeted().size());
        Map<String, Tensor> adapter = AdapterIO.tensors(model, LoraConfig.read(dir.resolve(AdapterIO.CONFIG_FILE)));
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterIO.WEIGHTS_FILE));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            assertEquals(new TreeSet<>(file.names()), new TreeSet<>(adapter.keySet()), "PEFT's keys, classifier included");
            Tape tape = Tape.create();
            Tensor logits = model.forward(tape, golden.batch());
            compare("adapter logits", logits.data(), expected.read("logits").data());
            Tensor loss = CrossEntropy.apply(tape, logits, golden.labels());
            compare("adapter loss", loss.data(), new float[] {(float) json.get("loss").asDouble()});
            tape.backward(loss);
            adapter.forEach((key, p) -> compare("grad." + key, p.grad(), expected.read("grad." + key).data()));
        }
        compare("adapter adamw losses", adamw(model, adapter, golden, json.get("adamw")), expectedLosses(json.get("adamw")));
    }

    private static float[] adamw(BertForSequenceClassification model, Map<String, Tensor> params, Golden golden, JsonNode opt) {
        AdamW adamw = new AdamW(params, (float) opt.get("betas").get(0).asDouble(), (float) opt.get("betas").get(1).asDouble(),
                (float) opt.get("eps").asDouble(), (float) opt.get("weight_decay").asDouble());
        float[] losses = new float[opt.get("steps").asInt()];
        for (int s = 0; s < losses.length; s++) {
            adamw.zeroGrad();
            Tape tape = Tape.create();
            Tensor loss = CrossEntropy.apply(tape, model.forward(tape, golden.batch()), golden.labels());
            tape.backward(loss);
            adamw.step((float) opt.get("lr").asDouble());
            losses[s] = loss.data()[0];
        }
        return losses;
    }

    private static float[] expectedLosses(JsonNode opt) {
        float[] out = new float[opt.get("losses").size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) opt.get("losses").get(i).asDouble();
        return out;
    }

    /** A gradient that is 0 in exact arithmetic (softmax ignores a shift of every score of a row: q·b_k): both are rounding noise. */
    private void zero(String name, float[] actual, float[] expected) {
        double max = 0;
        for (int i = 0; i < actual.length; i++) max = Math.max(max, Math.max(Math.abs(actual[i]), Math.abs(expected[i])));
        report.add(String.format("%-80s zero in theory, max |value| %.3e", name, max));
        assertTrue(max <= 1e-6, name + ": should be 0 up to rounding, is up to " + max);
    }

    private void compare(String name, float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, name + ": size");
        double rel = TestData.relativeError(actual, expected);
        report.add(String.format("%-80s relative error %.3e", name, rel));
        assertTrue(rel <= TOLERANCE, name + ": relative error " + rel + " exceeds " + TOLERANCE);
    }
}
