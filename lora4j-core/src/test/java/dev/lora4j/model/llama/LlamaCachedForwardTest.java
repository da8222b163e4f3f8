// The KV-cache forward of the Llama family against its full forward (HF: logits with past_key_values equal
// those without) at every position up to the end of the context, so every rotary position is covered; with
// Mistral's sliding window crossed by the cache; through LoRA-wrapped projections; and greedy generation
// against an argmax loop over the full forward.
package dev.lora4j.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.generate.Generator;
import dev.lora4j.nn.KvCache;
import dev.lora4j.generate.Sampler;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaCachedForwardTest {
    private static final double TOLERANCE = 1e-5;

    static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    private static float[] fullLogits(CausalLm model, int[] ids) {
        return model.forward(Tape.noGrad(), ids, 1, ids.length).data();
    }

    /** Feeds {@code ids} through one cache in pieces of the given sizes; all logits rows concatenated. */
    private static float[] cachedLogits(CausalLm model, int[] ids, int... pieces) {
        KvCache cache = model.newKvCache(ids.length);
        float[] out = new float[ids.length * model.vocabSize()];
        int at = 0;
        for (int n : pieces) {
            Tensor logits = model.forwardCached(Arrays.copyOfRange(ids, at, at + n), cache);
            System.arraycopy(logits.data(), 0, out, at * model.vocabSize(), logits.size());
            at += n;
            assertEquals(at, cache.length());
        }
        assertEquals(ids.length, at, "pieces cover the sequence");
        return out;
    }

    private static int[] ones(int n) {
        int[] p = new int[n];
        Arrays.fill(p, 1);
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-golden", "qwen2-golden", "mistral-golden"})
    void cachedLogitsEqualFullForwardAtEveryPositionOfTheContext(String fixture) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        int T = model.maxPositions();
        int[] ids = randomIds(T, model.vocabSize(), 7);
        float[] expected = fullLogits(model, ids);
        assertRelative(expected, cachedLogits(model, ids, T), fixture + ": prefill in one go");
        assertRelative(expected, cachedLogits(model, ids, 5, 1, 11, 2, 30, T - 49), fixture + ": prefill in pieces");
        assertRelative(expected, cachedLogits(model, ids, ones(T)), fixture + ": token by token");
    }

    @Test
    void theSlidingWindowHidesOlderPositionsInBothPaths() {
        CausalLm model = ModelLoader.load(TestData.dir("mistral-golden"));
        int W = ((LlamaModel) model).config().slidingWindow(0), V = model.vocabSize();
        assertEquals(6, W);
        int[] a = randomIds(20, V, 3), b = a.clone();
        b[0] = (b[0] + 1) % V;                         // differs only at position 0
        float[] la = fullLogits(model, a), lb = fullLogits(model, b);
        int lastReached = 2 * (W - 1);                 // two layers: position 0 reaches up to 2(W − 1)
        assertTrue(TestData.relativeError(Arrays.copyOfRange(la, lastReached * V, (lastReached + 1) * V),
                Arrays.copyOfRange(lb, lastReached * V, (lastReached + 1) * V)) > 1e-6, "position 0 still reaches " + lastReached);
        assertArrayEquals(Arrays.copyOfRange(la, (lastReached + 1) * V, 20 * V), Arrays.copyOfRange(lb, (lastReached + 1) * V, 20 * V),
                "beyond two windows position 0 is invisible");
        assertArrayEquals(Arrays.copyOfRange(cachedLogits(model, a, 3, 17), (lastReached + 1) * V, 20 * V),
                Arrays.copyOfRange(cachedLogits(model, b, 3, 17), (lastReached + 1) * V, 20 * V), "the cached path too");
    }

    @Test
    void keepsOnlyTheLastLogitsAndRefusesToGoPastTheContext() {
        CausalLm model = ModelLoader.load(TestData.dir("llama-golden"));
        int N = model.maxPositions(), V = model.vocabSize();
        int[] ids = randomIds(N, V, 11);
        float[] full = fullLogits(model, ids);
        KvCache cache = model.newKvCache(N);
        assertRelative(Arrays.copyOfRange(full, (N - 4) * V, (N - 3) * V), model.forwardCached(Arrays.copyOf(ids, N - 3), cache, 1).data(),
                "last row of the prefill");
        assertRelative(Arrays.copyOfRange(full, (N - 2) * V, N * V), model.forwardCached(Arrays.copyOfRange(ids, N - 3, N), cache, 2).data(),
                "last two rows at the end of the context");
        Lora4jException e = assertThrows(Lora4jException.class, () -> model.forwardCached(new int[] {1}, cache));
        assertTrue(e.getMessage().contains("max_position_embeddings " + N), e.getMessage());
        assertEquals(N, cache.length());
        assertThrows(IllegalArgumentException.class, () -> model.newKvCache(N + 1));
        assertThrows(IllegalArgumentException.class, () -> model.forward(Tape.noGrad(), new int[N + 1], 1, N + 1));
    }

    @Test
    void loraWrappedProjectionsAreUsedByTheCachedPath() {
        CausalLm model = ModelLoader.load(TestData.dir("qwen2-golden"));
        int[] ids = randomIds(24, model.vocabSize(), 5);
        float[] before = fullLogits(model, ids);
        LoraInjector.apply(model, LoraConfig.defaults("qwen2").withTargets(new ModuleSpec.AllLinear()).withInit(LoraConfig.Init.RANDOM), 3);
        float[] after = fullLogits(model, ids);
        assertTrue(TestData.relativeError(after, before) > 1e-3, "the adapter changes the logits");
        assertRelative(after, cachedLogits(model, ids, 4, 1, 1, 18), "cached path with LoRA layers");
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-golden", "qwen2-golden", "mistral-golden"})
    void greedyGenerationEqualsAnArgmaxLoopOverTheFullForward(String fixture) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        int[] prompt = randomIds(5, model.vocabSize(), 17);
        int n = model.maxPositions() - prompt.length, V = model.vocabSize();
        int[] seq = prompt.clone();
        for (int i = 0; i < n; i++) {
            float[] logits = fullLogits(model, seq);
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = Sampler.argmax(Arrays.copyOfRange(logits, (seq.length - 2) * V, (seq.length - 1) * V));
        }
        Generator.Result r = Generator.generate(model, prompt, GenerationConfig.greedy(n), t -> {});
        assertArrayEquals(Arrays.copyOfRange(seq, prompt.length, seq.length), r.tokens(), fixture);
    }

    private static void assertRelative(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double err = TestData.relativeError(actual, expected);
        assertTrue(err <= TOLERANCE, what + ": relative error " + err);
    }
}
