package dev.lora4j.lora;

import dev.lora4j.tensor.WeightStorage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.BFloat16;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA on a base whose frozen matrices and embeddings are stored as bfloat16 ({@code --base-dtype bf16}) computes
 * exactly what the float32 path computes on the same weights rounded to bfloat16 — logits, fused head loss and every
 * adapter gradient, bit for bit — and stays close to the unrounded model.
 */
class Bf16BaseTest {
    @ParameterizedTest
    @ValueSource(strings = {"gpt2-golden", "llama-golden"})
    void bf16FrozenWeightsComputeExactlyTheRoundedFloatModel(String fixture) {
        CausalLm exact = adapted(fixture), rounded = adapted(fixture), half = adapted(fixture);
        rounded.module().namedParameters().values().forEach(p -> {
            if (!p.requiresGrad() && p.shape().rank() == 2) {
                float[] d = p.data();
                for (int i = 0; i < d.length; i++) d[i] = BFloat16.toFloat(BFloat16.fromFloat(d[i]));
            }
        });
        long converted = half.module().frozenMatricesToBf16();
        long frozen2d = 0;
        for (Tensor p : half.module().namedParameters().values()) {
            if (p.shape().rank() == 2 && !p.requiresGrad()) {
                assertTrue(p.storage() instanceof WeightStorage.Bf16);
                frozen2d += p.size();
            } else {
                assertTrue(p.isFloat32());
            }
        }
        assertEquals(frozen2d, converted);

        int B = 2, T = 7, V = exact.vocabSize();
        SplittableRandom rnd = new SplittableRandom(4);
        int[] ids = rnd.ints(B * T, 0, V).toArray(), targets = rnd.ints(B * T, 0, V).toArray();
        targets[3] = CrossEntropy.IGNORE_INDEX;
        Run r = run(rounded, ids, targets, B, T), h = run(half, ids, targets, B, T), e = run(exact, ids, targets, B, T);
        assertArrayEquals(r.logits, h.logits, "logits");
        assertEquals(r.loss, h.loss, 0f, "fused head loss");
        r.grads.forEach((name, g) -> assertArrayEquals(g, h.grads.get(name), name));
        assertEquals(e.loss, h.loss, 1e-2 * Math.abs(e.loss), "bfloat16 rounding moves the loss a little");

        Tensor w = half.module().namedParameters().values().stream().filter(t -> !t.isFloat32()).findFirst().orElseThrow();
        assertThrows(IllegalStateException.class, w::data, "no float32 data behind a bfloat16 weight");
        assertThrows(IllegalStateException.class, () -> w.requiresGrad(true), "a bfloat16 weight cannot be trained");
    }

    private record Run(float[] logits, float loss, Map<String, float[]> grads) {}

    private static Run run(CausalLm model, int[] ids, int[] targets, int B, int T) {
        Tensor logits = model.forward(Tape.noGrad(), ids, B, T);
        Tape tape = Tape.create();
        Tensor loss = model.loss(tape, ids, B, T, targets);
        tape.backward(loss);
        Map<String, float[]> grads = new java.util.TreeMap<>();
        model.module().namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) grads.put(n, p.grad().clone());
        });
        return new Run(logits.data().clone(), loss.data()[0], grads);
    }

    /** The fixture with LoRA r=4 on its default targets and lora_B drawn at random (so the adapter path is live). */
    private static CausalLm adapted(String fixture) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        LoraInjector.apply(model, LoraConfig.defaults(model.modelType()).withR(4).withAlpha(8), 3);
        SplittableRandom rnd = new SplittableRandom(9);
        model.module().namedParameters().forEach((n, p) -> {
            if (n.contains(".lora_B.")) for (int i = 0; i < p.size(); i++) p.data()[i] = (float) rnd.nextGaussian() * 0.1f;
        });
        return model;
    }
}
