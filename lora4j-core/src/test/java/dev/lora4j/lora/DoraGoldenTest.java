package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PEFT DoRA adapters written by tools/golden/dora_golden.py (DoRA by hand in PyTorch with PEFT's operations; GPT-2's
 * Conv1D and Qwen2's Linear with and without bias) loaded onto their golden bases: logits, loss, the gradient of every
 * lora_A, lora_B and lora_magnitude_vector, merged logits and merged weights, ten AdamW steps on the adapter, and the
 * adapter written back by lora4j holding PEFT's keys and values; each within 1e-4 relative error (report in
 * target/golden-report-dora-*.txt).
 */
class DoraGoldenTest {
    private static final double TOLERANCE = 1e-4;
    private final List<String> report = new ArrayList<>();
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-golden-dora", "qwen2-golden-dora"})
    void doraAdapterMatchesPyTorch(String fixture) throws IOException {
        Path dir = TestData.dir(fixture);
        JsonNode golden = TestData.json(dir.resolve("golden.json"));
        Path base = TestData.dir(golden.get("base").asText().substring("testdata/".length()));
        JsonNode batch = TestData.json(base.resolve("golden.json"));
        int B = batch.get("input_ids").size(), T = batch.get("input_ids").get(0).size();
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int b = 0; b < B; b++) {
            int[] row = TestData.ints(batch.get("input_ids").get(b)), labels = TestData.ints(batch.get("labels").get(b));
            for (int t = 0; t < T; t++) {
                ids[b * T + t] = row[t];
                targets[b * T + t] = t + 1 < T ? labels[t + 1] : CrossEntropy.IGNORE_INDEX;
            }
        }
        CausalLm model = ModelLoader.load(base);
        LoraInjector.Report r = AdapterIO.load(dir, model);
        assertEquals(golden.get("lora_modules").size(), r.targeted().size());
        LoraConfig config = LoraConfig.read(dir.resolve(AdapterIO.CONFIG_FILE));
        assertTrue(config.useDora());
        Map<String, Tensor> adapter = AdapterIO.tensors(model, config);
        assertEquals(3 * r.targeted().size(), adapter.size(), "lora_A, lora_B and lora_magnitude_vector per module");
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            Tape tape = Tape.create();
            Tensor logits = model.forward(tape, ids, B, T);
            compare("logits", logits.data(), expected.read("logits").data());
            Tensor loss = CrossEntropy.apply(tape, logits, targets);
            compare("loss", loss.data(), new float[] {(float) golden.get("loss").asDouble()});
            tape.backward(loss);
            adapter.forEach((key, p) -> compare("grad." + key, p.grad(), expected.read("grad." + key).data()));

            Path written = tmp.resolve("written");
            AdapterIO.write(written, model, config);
            try (SafetensorsFile original = SafetensorsFile.open(dir.resolve(AdapterIO.WEIGHTS_FILE));
                 SafetensorsFile back = SafetensorsFile.open(written.resolve(AdapterIO.WEIGHTS_FILE))) {
                assertEquals(new TreeSet<>(original.names()), new TreeSet<>(back.names()), "lora4j writes PEFT's keys, the magnitude without .weight");
                for (String key : original.names()) assertArrayEquals(original.read(key).data(), back.read(key).data(), key);
            }
            assertTrue(LoraConfig.read(written.resolve(AdapterIO.CONFIG_FILE)).useDora());

            float[] unmerged = model.forward(Tape.noGrad(), ids, B, T).data().clone();
            Merger.merge(model);
            compare("merged logits", model.forward(Tape.noGrad(), ids, B, T).data(), expected.read("merged_logits").data());
            for (String n : expected.names()) {
                if (!n.startsWith("merged.")) continue;
                String param = n.substring("merged.".length()).replace(".weight", ".base_layer.weight");
                compare(n, model.module().namedParameters().get(param).data(), expected.read(n).data());
            }
            Merger.unmerge(model);
            compare("unmerged again", model.forward(Tape.noGrad(), ids, B, T).data(), unmerged);
        }

        JsonNode opt = golden.get("adamw");
        AdamW adamw = new AdamW(adapter, (float) opt.get("betas").get(0).asDouble(), (float) opt.get("betas").get(1).asDouble(),
                (float) opt.get("eps").asDouble(), (float) opt.get("weight_decay").asDouble());
        float[] losses = new float[opt.get("steps").asInt()], expectedLosses = new float[losses.length];
        for (int s = 0; s < losses.length; s++) {
            adamw.zeroGrad();
            Tape tape = Tape.create();
            Tensor loss = CrossEntropy.apply(tape, model.forward(tape, ids, B, T), targets);
            tape.backward(loss);
            adamw.step((float) opt.get("lr").asDouble());
            losses[s] = loss.data()[0];
            expectedLosses[s] = (float) opt.get("losses").get(s).asDouble();
        }
        compare("adamw losses", losses, expectedLosses);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "golden-report-dora-" + fixture + ".txt"), report);
    }

    private void compare(String name, float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, name + ": size");
        double rel = TestData.relativeError(actual, expected);
        report.add(String.format("%-80s relative error %.3e", name, rel));
        assertTrue(rel <= TOLERANCE, name + ": relative error " + rel + " exceeds " + TOLERANCE);
    }
}
