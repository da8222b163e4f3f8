package dev.lora4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.CrossEntropy;
import dev.lora4j.autograd.Tape;
import dev.lora4j.data.Window;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Java example of the README, statement for statement, so it cannot go stale. */
class ReadmeExampleTest {
    @Test
    void readmeJavaExampleRuns() {
        Path dir = TestData.dir("gpt2-tiny");   // README: Path.of("testdata/gpt2-tiny")
        // --- README example starts
        CausalLm model = ModelLoader.load(dir);
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            int[] ids = tokenizer.encode("Call me Ishmael. Some years ago, never mind how long precisely.");

            // Loss and perplexity, no gradients
            Evaluator.Result r = Evaluator.evaluate(model, Window.packTexts(List.of(ids), 128), 4, n -> {});
            String summary = String.format("loss %.3f, perplexity %.1f over %d tokens", r.loss(), r.perplexity(), r.tokens());

            // One forward and backward pass on the tape: gradients for the parameters that require them
            Window w = Window.packTexts(List.of(ids), 128).get(0);
            Tensor wte = model.module().namedParameters().get("wte.weight").requiresGrad(true);
            Tape tape = Tape.create();
            Tensor loss = CrossEntropy.apply(tape, model.forward(tape, w.ids(), 1, w.length()), w.targets());
            tape.backward(loss);
            float[] dWte = wte.grad();   // (vocab_size, n_embd)
            // --- README example ends
            assertEquals(ids.length - 1, r.tokens());
            assertTrue(summary.startsWith("loss 10."), summary);
            assertEquals(r.loss(), loss.data()[0], 1e-4 * r.loss());
            assertNotNull(dWte);
            assertTrue(model.module().namedParameters().get("h.0.attn.c_attn.weight").gradOrNull() == null,
                    "parameters that do not require a gradient get none");
        }
    }
}
