// PiSSA against tools/golden/pissa_golden.py (PEFT's pissa_init and its conversion on save, by hand in PyTorch):
// sign-invariant quantities only, since an SVD may flip any singular pair.
package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.kernels.Gemm;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPT-2 (Conv1D, r=4) and Qwen2 (Linear with and without bias, r=2, rsLoRA) with init_lora_weights "pissa": the residual
 * weights, s·B0·A0 and the top-r singular values after injection, the logits (the base's own) and loss, ten AdamW steps
 * with weight decay, the trained logits; then the adapter lora4j writes is PEFT's converted one (rank 2r, the config's
 * r and lora_alpha as PEFT writes them, init_lora_weights true, s'·B'·A' as PyTorch's), and loaded on the original base
 * it gives the trained logits. Each within 1e-4 relative error (report in target/golden-report-pissa-*.txt). The
 * fixture's own adapter (saved without the conversion) is refused with the file named.
 */
class PissaGoldenTest {
    private static final double TOLERANCE = 1e-4;
    private final List<String> report = new ArrayList<>();
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-golden-pissa", "qwen2-golden-pissa"})
    void pissaMatchesPyTorch(String fixture) throws IOException {
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
        LoraConfig config = LoraConfig.read(dir.resolve(AdapterIO.CONFIG_FILE));
        assertEquals(LoraConfig.Init.PISSA, config.initLoraWeights());
        CausalLm model = ModelLoader.load(base);
        LoraInjector.apply(model, config, 0);
        Map<String, LoraLinear> layers = LoraInjector.loraLayers(model);
        Map<String, Tensor> params = model.module().namedParameters();
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            layers.forEach((name, l) -> {
                String key = AdapterIO.KEY_PREFIX + model.peftPrefix() + name;
                compare("init_delta " + name, l.deltaWeight(), expected.read("init_delta." + key).data());
                float[] s = new float[l.r()], sExpected = new float[l.r()];
                for (int k = 0; k < l.r(); k++) {
                    double rowNorm2 = 0;                       // ‖A0 row k‖² = S_k / scale, whatever the sign
                    for (int i = 0; i < l.base().inFeatures(); i++) rowNorm2 += Math.pow(l.loraA().data()[k * l.base().inFeatures() + i], 2);
                    s[k] = (float) (rowNorm2 * l.scale());
                    sExpected[k] = (float) golden.get("singular_values").get(key).get(k).asDouble();
                }
                compare("singular values " + name, s, sExpected);
            });
            for (String n : expected.names()) {
                if (!n.startsWith("residual.")) continue;
                String param = n.substring("residual.".length()).replace(".weight", ".base_layer.weight");
                compare(n, params.get(param).data(), expected.read(n).data());
            }
            Tape tape = Tape.create();
            Tensor logits = model.forward(tape, ids, B, T);
            compare("logits", logits.data(), expected.read("logits").data());
            try (SafetensorsFile baseGolden = SafetensorsFile.open(base.resolve("golden.safetensors"))) {
                compare("logits vs the base's", logits.data(), baseGolden.read("logits").data());
            }
            compare("loss", CrossEntropy.apply(tape, logits, targets).data(), new float[] {(float) golden.get("loss").asDouble()});

            Map<String, Tensor> adapter = AdapterIO.tensors(model, config);
            JsonNode opt = golden.get("adamw");
            AdamW adamw = new AdamW(adapter, (float) opt.get("betas").get(0).asDouble(), (float) opt.get("betas").get(1).asDouble(),
                    (float) opt.get("eps").asDouble(), (float) opt.get("weight_decay").asDouble());
            float[] losses = new float[opt.get("steps").asInt()], expectedLosses = new float[losses.length];
            for (int s = 0; s < losses.length; s++) {
                adamw.zeroGrad();
                Tape t = Tape.create();
                Tensor loss = CrossEntropy.apply(t, model.forward(t, ids, B, T), targets);
                t.backward(loss);
                adamw.step((float) opt.get("lr").asDouble());
                losses[s] = loss.data()[0];
                expectedLosses[s] = (float) opt.get("losses").get(s).asDouble();
            }
            compare("adamw losses", losses, expectedLosses);
            float[] trained = model.forward(Tape.noGrad(), ids, B, T).data().clone();
            compare("trained logits", trained, expected.read("trained_logits").data());

            LoraConfig converted = PissaConversion.config(config);
            JsonNode peftConverted = TestData.json(dir.resolve("converted_config.json"));
            assertEquals(peftConverted.get("r").asInt(), converted.r());
            assertEquals(peftConverted.get("lora_alpha").asDouble(), converted.loraAlpha(), 1e-12);
            assertEquals(Boolean.TRUE, converted.initPeftValue());
            Map<String, Tensor> written = PissaConversion.tensors(model, config);
            layers.forEach((name, l) -> {
                String key = AdapterIO.KEY_PREFIX + model.peftPrefix() + name;
                Tensor a = written.get(key + ".lora_A.weight"), b = written.get(key + ".lora_B.weight");
                int r2 = 2 * l.r(), in = l.base().inFeatures(), out = l.base().outFeatures();
                assertEquals(List.of(r2, in), List.of(a.dim(0), a.dim(1)));
                assertEquals(List.of(out, r2), List.of(b.dim(0), b.dim(1)));
                float[] delta = new float[out * in];
                Gemm.ab(delta, 0, in, b.data(), 0, r2, a.data(), 0, in, out, in, r2, false);
                float s2 = (float) converted.scaleFor(model.peftPrefix() + name);
                for (int i = 0; i < delta.length; i++) delta[i] *= s2;
                compare("converted_delta " + name, delta, expected.read("converted_delta." + key).data());
            });

            Path out = tmp.resolve("converted");
            AdapterIO.write(out, model, config);
            CausalLm original = ModelLoader.load(base);
            AdapterIO.load(out, original);
            compare("converted adapter on the original base vs PyTorch's trained logits", original.forward(Tape.noGrad(), ids, B, T).data(),
                    expected.read("trained_logits").data());
            compare("converted adapter on the original base vs trained on the residual", original.forward(Tape.noGrad(), ids, B, T).data(), trained);
        }
        Lora4jException e = assertThrows(Lora4jException.class, () -> AdapterIO.load(dir, ModelLoader.load(base)));
        assertTrue(e.getMessage().contains(dir.resolve(AdapterIO.CONFIG_FILE).toString()) && e.getMessage().contains("path_initial_model_for_weight_conversion"),
                e.getMessage());
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "golden-report-pissa-" + fixture + ".txt"), report);
    }

    private void compare(String name, float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, name + ": size");
        double rel = TestData.relativeError(actual, expected);
        report.add(String.format("%-80s relative error %.3e", name, rel));
        assertTrue(rel <= TOLERANCE, name + ": relative error " + rel + " exceeds " + TOLERANCE);
    }
}
