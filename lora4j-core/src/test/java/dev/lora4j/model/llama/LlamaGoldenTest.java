package dev.lora4j.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.HfConfig;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Llama, Qwen2 and Mistral against PyTorch (tools/golden/llama_golden.py, HF modeling_*.py semantics): the
 * RoPE inverse frequencies, logits, loss, the gradient of every parameter and the losses of ten AdamW steps,
 * each within 1e-4 relative error; and the BF16 two-shard copy of llama-golden against the logits of its
 * rounded weights. The max difference per tensor is written to target/golden-report-<fixture>.txt.
 */
class LlamaGoldenTest {
    private static final double TOLERANCE = 1e-4;
    private final List<String> report = new ArrayList<>();

    /** ids and HF-shifted targets (label t + 1 at position t, −100 at the end) of a golden.json batch. */
    record Batch(int B, int T, int[] ids, int[] targets) {
        static Batch of(JsonNode golden) {
            int B = golden.get("input_ids").size(), T = golden.get("input_ids").get(0).size();
            int[] ids = new int[B * T], targets = new int[B * T];
            for (int b = 0; b < B; b++) {
                int[] row = TestData.ints(golden.get("input_ids").get(b)), labels = TestData.ints(golden.get("labels").get(b));
                for (int t = 0; t < T; t++) {
                    ids[b * T + t] = row[t];
                    targets[b * T + t] = t + 1 < T ? labels[t + 1] : CrossEntropy.IGNORE_INDEX;
                }
            }
            return new Batch(B, T, ids, targets);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-golden", "qwen2-golden", "mistral-golden"})
    void logitsLossGradientsAndAdamWMatchPyTorch(String fixture) throws IOException {
        Path dir = TestData.dir(fixture);
        JsonNode golden = TestData.json(dir.resolve("golden.json"));
        CausalLm model = ModelLoader.load(dir);
        assertInstanceOf(LlamaModel.class, model);
        LlamaConfig config = ((LlamaModel) model).config();
        float[] invFreq = new RotaryEmbedding(config.headDim(), config.ropeTheta(), config.ropeScaling(), null).invFreq();
        float[] expectedInvFreq = new float[golden.get("inv_freq").size()];
        for (int i = 0; i < expectedInvFreq.length; i++) expectedInvFreq[i] = (float) golden.get("inv_freq").get(i).asDouble();
        compare("inv_freq", invFreq, expectedInvFreq, 1e-6);

        Batch batch = Batch.of(golden);
        Map<String, Tensor> params = model.module().namedParameters();
        params.values().forEach(p -> p.requiresGrad(true));
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            Tape tape = Tape.create();
            Tensor logits = model.forward(tape, batch.ids(), batch.B(), batch.T());
            compare("logits", logits.data(), expected.read("logits").data(), TOLERANCE);
            Tensor loss = CrossEntropy.apply(tape, logits, batch.targets());
            compare("loss", loss.data(), new float[] {(float) golden.get("loss").asDouble()}, TOLERANCE);
            tape.backward(loss);
            assertEquals(params.size(), expected.names().size() - 1, "one golden gradient per parameter");
            params.forEach((name, p) -> compare("grad." + name, p.grad(), expected.read("grad." + name).data(), TOLERANCE));
        }

        JsonNode opt = golden.get("adamw");
        AdamW adamw = new AdamW(params, (float) opt.get("betas").get(0).asDouble(), (float) opt.get("betas").get(1).asDouble(),
                (float) opt.get("eps").asDouble(), (float) opt.get("weight_decay").asDouble());
        float[] losses = new float[opt.get("steps").asInt()], expectedLosses = new float[losses.length];
        for (int s = 0; s < losses.length; s++) {
            adamw.zeroGrad();
            Tape tape = Tape.create();
            Tensor loss = CrossEntropy.apply(tape, model.forward(tape, batch.ids(), batch.B(), batch.T()), batch.targets());
            tape.backward(loss);
            adamw.step((float) opt.get("lr").asDouble());
            losses[s] = loss.data()[0];
            expectedLosses[s] = (float) opt.get("losses").get(s).asDouble();
        }
        compare("adamw losses", losses, expectedLosses, TOLERANCE);
        writeReport(fixture);
    }

    @Test
    void bf16ShardedCheckpointLoadsAndMatchesItsRoundedWeights() throws IOException {
        Path dir = TestData.dir("llama-golden-bf16-sharded");
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")) && !Files.exists(dir.resolve("model.safetensors")));
        JsonNode golden = TestData.json(dir.resolve("golden.json"));
        CausalLm model = ModelLoader.load(dir);
        Batch batch = Batch.of(golden);
        Tape tape = Tape.noGrad();
        Tensor logits = model.forward(tape, batch.ids(), batch.B(), batch.T());
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            compare("logits", logits.data(), expected.read("logits").data(), TOLERANCE);
        }
        compare("loss", CrossEntropy.apply(tape, logits, batch.targets()).data(), new float[] {(float) golden.get("loss").asDouble()}, TOLERANCE);
        Map<String, Tensor> f32 = ModelLoader.load(TestData.dir("llama-golden")).module().namedParameters();
        model.module().namedParameters().forEach((name, p) -> {
            float[] w = f32.get(name).data();
            for (int i = 0; i < w.length; i++) assertEquals(bf16(w[i]), p.data()[i], name + "[" + i + "] is the BF16 rounding of the F32 weight");
        });
        assertEquals("bfloat16", HfConfig.read(dir.resolve("config.json")).requireString("torch_dtype"));
        writeReport("llama-golden-bf16-sharded");
    }

    /** x rounded to the nearest bfloat16, ties to even (finite weights only). */
    private static float bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        return Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
    }

    private void compare(String name, float[] actual, float[] expected, double tolerance) {
        assertEquals(expected.length, actual.length, name + ": size");
        double rel = TestData.relativeError(actual, expected);
        report.add(String.format("%-60s relative error %.3e", name, rel));
        assertTrue(rel <= tolerance, name + ": relative error " + rel + " exceeds " + tolerance);
    }

    private void writeReport(String fixture) throws IOException {
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "golden-report-" + fixture + ".txt"), report);
    }
}
