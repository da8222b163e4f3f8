// The KV-cache forward against the full forward (HF: logits with past_key_values equal those without):
// prefill in one go, in pieces and token by token, on both committed GPT-2 fixtures, plus the
// context limit and a wrapped linear layer (how an unmerged LoRA adapter is applied).
package dev.lora4j.generate;

import dev.lora4j.nn.KvCache;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.Layer;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CachedForwardTest {
    private static final double TOLERANCE = 1e-5;

    static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    /** Rows [from, to) of the full forward's (T, V) logits. */
    static float[] fullLogits(CausalLm model, int[] ids, int from, int to) {
        Tensor all = model.forward(Tape.noGrad(), ids, 1, ids.length);
        int V = model.vocabSize();
        return Arrays.copyOfRange(all.data(), from * V, to * V);
    }

    /** Feeds {@code ids} through one cache in pieces of the given sizes; returns all logits rows concatenated. */
    static float[] cachedLogits(CausalLm model, int[] ids, int... pieces) {
        KvCache cache = model.newKvCache(ids.length);
        float[] out = new float[ids.length * model.vocabSize()];
        int at = 0;
        for (int n : pieces) {
            Tensor logits = model.forwardCached(Arrays.copyOfRange(ids, at, at + n), cache);
            assertEquals(n * model.vocabSize(), logits.size());
            System.arraycopy(logits.data(), 0, out, at * model.vocabSize(), logits.size());
            at += n;
            assertEquals(at, cache.length());
        }
        assertEquals(ids.length, at, "pieces cover the sequence");
        return out;
    }

    static int[] ones(int n) {
        int[] p = new int[n];
        Arrays.fill(p, 1);
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-golden", "gpt2-tiny"})
    void cachedLogitsEqualFullForwardAtEveryPosition(String fixture) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        int T = Math.min(model.maxPositions(), 29);
        int[] ids = randomIds(T, model.vocabSize(), 7);
        float[] expected = fullLogits(model, ids, 0, T);
        assertRelative(expected, cachedLogits(model, ids, T), "prefill in one go");
        assertRelative(expected, cachedLogits(model, ids, 5, 1, 11, T - 17), "prefill in pieces");
        assertRelative(expected, cachedLogits(model, ids, ones(T)), "token by token");
    }

    @Test
    void fillsTheWholeContextAndKeepsOnlyTheLastLogitsWhenAsked() {
        CausalLm model = ModelLoader.load(TestData.dir("gpt2-golden"));
        int N = model.maxPositions(), V = model.vocabSize();
        int[] ids = randomIds(N, V, 11);
        KvCache cache = model.newKvCache(N);
        Tensor first = model.forwardCached(Arrays.copyOf(ids, N - 3), cache, 1);
        assertEquals(V, first.size(), "one row kept");
        assertRelative(fullLogits(model, ids, N - 4, N - 3), first.data(), "last row of the prefill");
        Tensor rest = model.forwardCached(Arrays.copyOfRange(ids, N - 3, N), cache, 2);
        assertRelative(fullLogits(model, ids, N - 2, N), rest.data(), "last two rows at the end of the context");
        assertEquals(N, cache.length());
    }

    @Test
    void refusesToGoPastTheContextAndLeavesTheCacheAsItWas() {
        CausalLm model = ModelLoader.load(TestData.dir("gpt2-golden"));
        int N = model.maxPositions();
        KvCache cache = model.newKvCache(N);
        model.forwardCached(randomIds(N - 1, model.vocabSize(), 3), cache);
        Lora4jException e = assertThrows(Lora4jException.class, () -> model.forwardCached(new int[] {1, 2}, cache));
        assertTrue(e.getMessage().contains("n_positions " + N), e.getMessage());
        assertEquals(N - 1, cache.length());
        assertThrows(IllegalArgumentException.class, () -> model.newKvCache(N + 1));
        KvCache small = model.newKvCache(4);
        assertThrows(IllegalArgumentException.class, () -> model.forwardCached(new int[5], small));
        assertEquals(0, small.length());
    }

    /** Scales a linear layer's output: stands in for a LoRA wrapper, which forwardCached must go through. */
    static final class Scaled extends Module implements Layer {
        private final Layer inner;

        Scaled(Layer inner) {
            this.inner = inner;
        }

        @Override
        public Tensor forward(Tape tape, Tensor x) {
            Tensor y = inner.forward(tape, x);
            float[] d = y.data();
            for (int i = 0; i < d.length; i++) d[i] *= 1.25f;
            return y;
        }
    }

    @Test
    void replacedLinearLayersAreUsedByTheCachedPath() {
        CausalLm model = ModelLoader.load(TestData.dir("gpt2-golden"));
        int[] ids = randomIds(12, model.vocabSize(), 5);
        float[] before = fullLogits(model, ids, 0, ids.length);
        Module h = model.module().child("h");
        for (Module parent : new Module[] {h.child("0").child("attn"), h.child("1").child("attn"), h.child("1").child("mlp")}) {
            for (String name : parent.children().keySet()) parent.replaceChild(name, new Scaled(parent.layer(name)));
        }
        float[] after = fullLogits(model, ids, 0, ids.length);
        assertTrue(TestData.relativeError(after, before) > 1e-3, "the wrappers change the logits");
        assertRelative(after, cachedLogits(model, ids, 4, 1, 1, 6), "cached path with wrapped layers");
        assertArrayEquals(after, fullLogits(model, ids, 0, ids.length), "the full forward is unchanged by caching");
    }

    static void assertRelative(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double err = TestData.relativeError(actual, expected);
        assertTrue(err <= TOLERANCE, what + ": relative error " + err);
    }
}
