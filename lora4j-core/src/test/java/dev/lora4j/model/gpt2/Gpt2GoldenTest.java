package dev.lora4j.model.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.nn.CausalLm;
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
import org.junit.jupiter.api.Test;

/**
 * GPT-2 against PyTorch (tools/golden/gpt2_golden.py, HF GPT2LMHeadModel semantics): logits, loss, the
 * gradient of every parameter and the losses of ten AdamW steps, each within 1e-4 relative error. The
 * max difference per tensor is written to target/golden-report-gpt2.txt.
 */
class Gpt2GoldenTest {
    private static final double TOLERANCE = 1e-4;
    private final Path dir = TestData.dir("gpt2-golden");
    private final JsonNode golden = TestData.json(dir.resolve("golden.json"));
    private final List<String> report = new ArrayList<>();

    @Test
    void logitsLossGradientsAndAdamWMatchPyTorch() throws IOException {
        CausalLm model = ModelLoader.load(dir);
        int B = golden.get("input_ids").size(), T = golden.get("input_ids").get(0).size();
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int b = 0; b < B; b++) {
            int[] row = TestData.ints(golden.get("input_ids").get(b)), labels = TestData.ints(golden.get("labels").get(b));
            for (int t = 0; t < T; t++) {
                ids[b * T + t] = row[t];
                targets[b * T + t] = t + 1 < T ? labels[t + 1] : CrossEntropy.IGNORE_INDEX;   // HF shifts labels by one
            }
        }
        Map<String, Tensor> params = model.module().namedParameters();
        params.values().forEach(p -> p.requiresGrad(true));
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            Tape tape = Tape.create();
            Tensor logits = model.forward(tape, ids, B, T);
            compare("logits", logits.data(), expected.read("logits").data());
            Tensor loss = CrossEntropy.apply(tape, logits, targets);
            compare("loss", loss.data(), new float[] {(float) golden.get("loss").asDouble()});
            tape.backward(loss);
            assertEquals(params.size(), expected.names().size() - 1, "one golden gradient per parameter");
            params.forEach((name, p) -> compare("grad." + name, p.grad(), expected.read("grad." + name).data()));
        }

        JsonNode opt = golden.get("adamw");
        AdamW adamw = new AdamW(params, (float) opt.get("betas").get(0).asDouble(), (float) opt.get("betas").get(1).asDouble(),
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
        Files.write(Path.of("target", "golden-report-gpt2.txt"), report);
    }

    private void compare(String name, float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, name + ": size");
        double rel = TestData.relativeError(actual, expected);
        report.add(String.format("%-40s relative error %.3e", name, rel));
        assertTrue(rel <= TOLERANCE, name + ": relative error " + rel + " exceeds " + TOLERANCE);
    }
}
