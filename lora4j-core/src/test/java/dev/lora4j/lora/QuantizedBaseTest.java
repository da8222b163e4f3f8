package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.lora4j.autograd.Tape;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.Nf4;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --base-dtype q8_0|q4_0|nf4}: the frozen matrices are quantized on load and widened exactly in the GEMMs, so a
 * LoRA model on the quantized base computes exactly (bit for bit: logits, loss, every adapter gradient) what the float32
 * model computes on the dequantized weights (the CLI's train --base-dtype is run in GgufCliTest).
 */
class QuantizedBaseTest {
    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0", "NF4"})
    void quantizedFrozenWeightsComputeExactlyTheDequantizedFloatModel(String format) {
        Function<float[], BlockStorage> quantize = switch (format) {
            case "Q8_0" -> Q8_0::quantize;
            case "Q4_0" -> Q4_0::quantize;
            default -> Nf4::quantize;
        };
        CausalLm quantized = adapted(), dequantized = adapted();
        Map<String, Tensor> dq = dequantized.module().namedParameters();
        quantized.module().namedParameters().forEach((name, p) -> {
            if (p.requiresGrad() || p.shape().rank() != 2) return;
            BlockStorage s = quantize.apply(p.data());
            float[] widened = new float[s.size()];
            s.widen(0, widened, 0, widened.length);
            System.arraycopy(widened, 0, dq.get(name).data(), 0, widened.length);
            p.hold(s);
        });
        int T = 9;
        SplittableRandom rnd = new SplittableRandom(2);
        int[] ids = rnd.ints(T, 0, quantized.vocabSize()).toArray(), targets = rnd.ints(T, 0, quantized.vocabSize()).toArray();
        assertArrayEquals(dequantized.forward(Tape.noGrad(), ids, 1, T).data(), quantized.forward(Tape.noGrad(), ids, 1, T).data(), "logits");
        Map<String, float[]> a = grads(quantized, ids, targets), b = grads(dequantized, ids, targets);
        assertEquals(b.keySet(), a.keySet());
        b.forEach((name, g) -> assertArrayEquals(g, a.get(name), name));
        assertInstanceOf(BlockStorage.class, quantized.module().namedParameters().get("model.layers.0.mlp.down_proj.weight").storage());
    }

    private static Map<String, float[]> grads(CausalLm model, int[] ids, int[] targets) {
        Tape tape = Tape.create();
        Tensor loss = model.loss(tape, ids, 1, ids.length, targets);
        tape.backward(loss);
        Map<String, float[]> out = new java.util.TreeMap<>();
        out.put("loss", loss.data().clone());
        model.module().namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) out.put(n, p.grad().clone());
        });
        return out;
    }

    /** tiny-llama with LoRA r=4 on q/k/v/o and lora_B drawn at random (so the adapter path is live). */
    private static CausalLm adapted() {
        CausalLm model = ModelLoader.load(TestData.dir("gguf").resolve("tiny-llama"));
        LoraInjector.apply(model, LoraConfig.defaults("llama").withR(4).withTargets(ModuleSpec.names(java.util.List.of("q_proj", "k_proj", "v_proj", "o_proj"))), 7);
        SplittableRandom rnd = new SplittableRandom(9);
        LoraInjector.loraLayers(model).values().forEach(l -> {
            float[] b = l.loraB().data();
            for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian() * 0.1f;
        });
        return model;
    }
}
