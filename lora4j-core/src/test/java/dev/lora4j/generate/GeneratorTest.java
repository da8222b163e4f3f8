// Generation with the KV cache against the plain definition (HF greedy search: argmax of a full forward
// over the whole sequence, recomputed each step), stopping at eos, seeded sampling, context limits,
// and eos_token_id read as GenerationConfig.from_pretrained reads it.
package dev.lora4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GeneratorTest {
    private static final CausalLm TINY = ModelLoader.load(TestData.dir("gpt2-tiny"));
    private static final CausalLm GOLDEN = ModelLoader.load(TestData.dir("gpt2-golden"));

    /** Greedy decoding by its definition: a full forward over prompt + generated, argmax of the last row. */
    static int[] argmaxLoop(CausalLm model, int[] prompt, int n) {
        int[] seq = prompt.clone();
        int V = model.vocabSize();
        for (int i = 0; i < n; i++) {
            Tensor logits = model.forward(Tape.noGrad(), seq, 1, seq.length);
            int next = Sampler.argmax(Arrays.copyOfRange(logits.data(), (seq.length - 1) * V, seq.length * V));
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    static Generator.Result generate(CausalLm model, int[] prompt, GenerationConfig config, List<Integer> streamed) {
        return Generator.generate(model, prompt, config, streamed::add);
    }

    @Test
    void greedyGenerationEqualsAnArgmaxLoopOverTheFullForward() {
        for (CausalLm model : new CausalLm[] {TINY, GOLDEN}) {
            int[] prompt = CachedForwardTest.randomIds(5, model.vocabSize(), 17);
            int n = model.maxPositions() - prompt.length;   // up to the end of the context
            List<Integer> streamed = new ArrayList<>();
            Generator.Result r = generate(model, prompt, GenerationConfig.greedy(n), streamed);
            assertArrayEquals(argmaxLoop(model, prompt, n), r.tokens(), model.sizes().toString());
            assertFalse(r.stoppedAtEos());
            assertArrayEquals(r.tokens(), streamed.stream().mapToInt(Integer::intValue).toArray(), "each token streamed, in order");
        }
    }

    @Test
    void stopsAtTheEosTokenWithoutEmittingIt() {
        int[] prompt = CachedForwardTest.randomIds(4, GOLDEN.vocabSize(), 2);
        int[] free = Generator.generate(GOLDEN, prompt, GenerationConfig.greedy(20), t -> {}).tokens();
        int eos = free[6], first = 0;
        while (free[first] != eos) first++;
        List<Integer> streamed = new ArrayList<>();
        Generator.Result r = generate(GOLDEN, prompt, GenerationConfig.greedy(20).withEosTokenIds(999_999, eos), streamed);
        assertTrue(r.stoppedAtEos());
        assertArrayEquals(Arrays.copyOf(free, first), r.tokens());
        assertEquals(first, streamed.size());
    }

    @Test
    void seededSamplingIsReproducibleAndTopKOfOneIsGreedy() {
        int[] prompt = CachedForwardTest.randomIds(3, TINY.vocabSize(), 8);
        GenerationConfig sampled = new GenerationConfig(30, 0.9f, 40, 0.95f, 1234L, null);
        int[] a = Generator.generate(TINY, prompt, sampled, t -> {}).tokens();
        assertArrayEquals(a, Generator.generate(TINY, prompt, sampled, t -> {}).tokens());
        GenerationConfig other = new GenerationConfig(30, 0.9f, 40, 0.95f, 1235L, null);
        assertFalse(Arrays.equals(a, Generator.generate(TINY, prompt, other, t -> {}).tokens()));
        GenerationConfig topK1 = new GenerationConfig(30, 1.3f, 1, 1f, 5L, null);
        assertArrayEquals(Generator.generate(TINY, prompt, GenerationConfig.greedy(30), t -> {}).tokens(),
                Generator.generate(TINY, prompt, topK1, t -> {}).tokens());
    }

    @Test
    void promptsThatLeaveNoRoomOrAreEmptyAreRejected() {
        int N = GOLDEN.maxPositions();
        Lora4jException tooLong = assertThrows(Lora4jException.class,
                () -> Generator.generate(GOLDEN, new int[N], GenerationConfig.greedy(1), t -> {}));
        assertTrue(tooLong.getMessage().contains("n_positions") && tooLong.getMessage().contains(N + " tokens"), tooLong.getMessage());
        Lora4jException noRoom = assertThrows(Lora4jException.class,
                () -> Generator.generate(GOLDEN, new int[N - 4], GenerationConfig.greedy(5), t -> {}));
        assertTrue(noRoom.getMessage().contains("at most 4 new tokens"), noRoom.getMessage());
        assertEquals(4, Generator.generate(GOLDEN, new int[N - 4], GenerationConfig.greedy(4), t -> {}).tokens().length);
        assertThrows(Lora4jException.class, () -> Generator.generate(GOLDEN, new int[0], GenerationConfig.greedy(4), t -> {}));
        assertThrows(Lora4jException.class, () -> GenerationConfig.greedy(0));
        assertThrows(Lora4jException.class, () -> Generator.generate(GOLDEN, new int[] {GOLDEN.vocabSize()},
                GenerationConfig.greedy(4), t -> {}), "token id outside the vocabulary");
    }

    @Test
    void eosTokenIdComesFromGenerationConfigElseConfig(@TempDir Path dir) throws IOException {
        assertArrayEquals(new int[] {50256}, GenerationConfig.eosTokenIds(TestData.dir("gpt2-tiny")));
        assertArrayEquals(new int[0], GenerationConfig.eosTokenIds(TestData.dir("gpt2-golden")));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"eos_token_id\": 7}");
        assertArrayEquals(new int[] {7}, GenerationConfig.eosTokenIds(dir));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [3, 9]}");
        assertArrayEquals(new int[] {3, 9}, GenerationConfig.eosTokenIds(dir));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"</s>\"}");
        Lora4jException e = assertThrows(Lora4jException.class, () -> GenerationConfig.eosTokenIds(dir));
        assertTrue(e.getMessage().contains("generation_config.json") && e.getMessage().contains("eos_token_id"), e.getMessage());
    }

    @Test
    void nonFiniteLogitsStopGenerationWithAnError() {
        CausalLm broken = ModelLoader.load(TestData.dir("gpt2-tiny"));
        broken.module().train(false);
        broken.module().namedParameters().get("ln_f.bias").data()[3] = Float.NaN;
        List<Integer> streamed = new ArrayList<>();
        String msg = assertThrows(Lora4jException.class, () -> generate(broken, new int[] {464, 3290}, new GenerationConfig(5, 0f, 0, 1f, 0, null),
                streamed)).getMessage();
        assertTrue(msg.contains("logits are not finite") && msg.contains("after 0 generated tokens"), msg);
        assertTrue(streamed.isEmpty(), "nothing was sampled from them");
    }
}
