package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Bnb4bit;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * bitsandbytes 4-bit checkpoints (tools/golden/bnb4bit_golden.py: bitsandbytes' quantize_4bit and dequantize_4bit
 * written out in torch, transformers' layout) load as Llama-family models whose quantized weights stay 4-bit: their
 * dequantized values are the reference's bit for bit, and the logits and loss of the float32 forward match.
 */
class Bnb4bitGoldenTest {
    private final List<String> report = new ArrayList<>();

    @ParameterizedTest
    @ValueSource(strings = {"bnb/llama-nf4", "bnb/qwen2-fp4", "bnb/tiny-llama-nf4"})
    void dequantizedWeightsLogitsAndLossMatchTheReference(String fixture) throws IOException {
        Path dir = TestData.dir(fixture);
        JsonNode golden = TestData.json(dir.resolve("golden.json"));
        CausalLm model = ModelLoader.load(dir);
        Map<String, Tensor> params = model.module().namedParameters();
        int quantized = 0;
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            boolean linear = e.getKey().matches(".*_proj\\.weight");
            assertEquals(linear, e.getValue().storage() instanceof Bnb4bit, e.getKey() + ": the decoder's linear weights stay 4-bit, nothing else");
            if (linear) quantized++;
        }
        assertEquals(14, quantized);
        long held = 0, float32 = 0, linear = 0, linearHeld = 0;
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            held += e.getValue().storage().bytes();
            float32 += 4L * e.getValue().size();
            if (e.getValue().storage() instanceof Bnb4bit b) {
                linearHeld += b.bytes();
                linear += 4L * b.size();
            }
        }
        report.add(String.format("weights held: %,d bytes (float32: %,d); the 4-bit linears %,d bytes (float32: %,d)", held, float32, linearHeld, linear));
        assertEquals(linear * 36 / 256, linearHeld, "4.5 bits a value: blocks of 64 with a float32 absmax");
        int[] ids = TestData.ints(golden.get("input_ids").get(0));
        int T = ids.length;
        int[] targets = new int[T];
        for (int t = 0; t < T; t++) targets[t] = t + 1 < T ? ids[t + 1] : CrossEntropy.IGNORE_INDEX;
        Tape tape = Tape.noGrad();
        Tensor logits = model.forward(tape, ids, 1, T);
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            for (String name : expected.names()) {
                if (!name.startsWith("dequant.")) continue;
                Tensor p = params.get(name.substring("dequant.".length()));
                assertNotNull(p, name);
                float[] actual = new float[p.size()];
                p.storage().widen(0, actual, 0, actual.length);
                float[] ref = expected.read(name).data();
                int differ = 0;
                for (int i = 0; i < ref.length; i++) if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(ref[i])) differ++;
                report.add(String.format("%-60s %d of %d values differ in any bit", name, differ, ref.length));
                assertEquals(0, differ, name + ": bitsandbytes' dequantized values, bit for bit");
            }
            double rel = TestData.relativeError(logits.data(), expected.read("logits").data());
            report.add(String.format("%-60s relative error %.3e", "logits", rel));
            assertTrue(rel <= 1e-4, "logits: relative error " + rel);
        }
        double loss = CrossEntropy.apply(tape, logits, targets).data()[0];
        report.add(String.format("%-60s %.8f vs %.8f", "loss", loss, golden.get("loss").asDouble()));
        assertEquals(golden.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
        assertInstanceOf(Bnb4bit.class, params.get("model.layers.1.mlp.down_proj.weight").storage());
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "golden-report-" + fixture.replace('/', '-') + ".txt"), report);
    }
}
