package dev.lora4j.model;

import dev.lora4j.nn.CausalLm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each family's fused head + loss gives the loss and every gradient of the unfused cross-entropy over full logits. */
class FusedLossTest {
    @ParameterizedTest
    @ValueSource(strings = {"gpt2-golden", "llama-golden", "qwen2-golden"})
    void fusedLossEqualsCrossEntropyOfTheLogits(String fixture) {
        int B = 2, T = 8;
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37 + 5) % 500;
            targets[i] = i % 7 == 3 ? CrossEntropy.IGNORE_INDEX : (i * 53 + 11) % 500;
        }
        Map<String, float[]> fused = new LinkedHashMap<>(), plain = new LinkedHashMap<>();
        float lf = run(fixture, ids, targets, B, T, true, fused), lp = run(fixture, ids, targets, B, T, false, plain);
        assertEquals(lp, lf, 1e-5 * lp, fixture + ": loss");
        plain.forEach((name, g) -> assertTrue(TestData.relativeError(fused.get(name), g) <= 1e-4, fixture + ": grad " + name));
    }

    private static float run(String fixture, int[] ids, int[] targets, int B, int T, boolean fused, Map<String, float[]> grads) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        model.module().namedParameters().values().forEach(p -> p.requiresGrad(true));
        Tape tape = Tape.create();
        Tensor loss = fused ? model.loss(tape, ids, B, T, targets) : CrossEntropy.apply(tape, model.forward(tape, ids, B, T), targets);
        tape.backward(loss);
        model.module().namedParameters().forEach((n, p) -> grads.put(n, p.grad().clone()));
        return loss.data()[0];
    }
}
