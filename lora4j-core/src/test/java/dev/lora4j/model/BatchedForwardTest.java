// Continuous batching against decoding each sequence alone: sequences with different adapters (or none), prompt lengths
// and positions, stepped together through one forwardBatch per step, must get bit for bit the logits that
// forwardCached gives each of them on a model with its adapter injected (what `lora4j generate --adapter` runs).
package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.generate.Sampler;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.AdapterWeights;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.KvCache;
import dev.lora4j.nn.LinearAdapter;
import dev.lora4j.nn.SequenceBatch;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BatchedForwardTest {
    @TempDir
    Path tmp;

    /** A random adapter (B non-zero) for the model in {@code fixture}, written as a PEFT directory. */
    private Path adapter(String fixture, ModuleSpec targets, int r, long seed) {
        return adapter(fixture, targets, r, seed, false);
    }

    /** As above; a DoRA adapter's magnitudes are moved off the norms (factor ≠ 1), so its factor shows in the output. */
    private Path adapter(String fixture, ModuleSpec targets, int r, long seed, boolean dora) {
        CausalLm model = ModelLoader.load(TestData.dir(fixture));
        LoraConfig config = LoraConfig.defaults(model.modelType()).withTargets(targets).withR(r).withAlpha(2.0 * r)
                .withInit(LoraConfig.Init.RANDOM).withDora(dora);
        LoraInjector.apply(model, config, seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        LoraInjector.loraLayers(model).values().forEach(l -> {
            if (l.magnitude() == null) return;
            float[] m = l.magnitude().data();
            for (int i = 0; i < m.length; i++) m[i] *= (float) (1 + 0.1 * rnd.nextGaussian());
        });
        Path dir = tmp.resolve(fixture + "-" + seed);
        AdapterIO.save(dir, model, config);
        return dir;
    }

    /** The logits of every step of decoding {@code prompt} alone (prefill, then the greedy token each time), adapter injected. */
    private static List<float[]> alone(Path fixture, Path adapter, int[] prompt, int steps) {
        CausalLm model = ModelLoader.load(fixture);
        if (adapter != null) AdapterIO.load(adapter, model);
        KvCache cache = model.newKvCache(prompt.length + steps);
        List<float[]> out = new ArrayList<>();
        float[] logits = model.forwardCached(prompt, cache, 1).data();
        out.add(logits);
        for (int i = 0; i < steps; i++) {
            logits = model.forwardCached(new int[] {Sampler.argmax(logits)}, cache, 1).data();
            out.add(logits);
        }
        return out;
    }

    private static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    private static float[] row(Tensor logits, int s) {
        int V = logits.dim(-1);
        return Arrays.copyOfRange(logits.data(), s * V, (s + 1) * V);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "gpt2-golden", "llama-golden", "mistral-golden", "qwen2-golden"})
    void sequencesDecodedTogetherGetTheLogitsEachGetsAlone(String fixture) {
        decodeTogether(fixture, false);
    }

    /** The same with adapter b a DoRA adapter (its factor per output row applied to its rows only), Conv1D and Linear, with and without biases. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2-golden", "llama-golden", "qwen2-golden"})
    void doraAdaptersDecodedTogetherGetTheLogitsEachGetsAlone(String fixture) {
        decodeTogether(fixture, true);
    }

    private void decodeTogether(String fixture, boolean doraB) {
        Path dir = TestData.dir(fixture);
        CausalLm base = ModelLoader.load(dir);
        base.module().train(false);
        Path a = adapter(fixture, new ModuleSpec.AllLinear(), 4, 1), b = adapter(fixture, new ModuleSpec.AllLinear(), 2, 2, doraB);
        Path c = adapter(fixture, LoraConfig.defaults(base.modelType()).targetModules(), 8, 3);
        AdapterWeights wa = AdapterWeights.read(a, base), wb = AdapterWeights.read(b, base), wc = AdapterWeights.read(c, base);
        // five sequences: adapters a, base, b, a, c (a run of two and lone rows); the last one joins two steps late
        Path[] dirs = {a, null, b, a, c};
        LinearAdapter[] adapters = {wa, null, wb, wa, wc};
        int[] lengths = {5, 1, 9, 3, 6};
        int steps = Math.min(8, base.maxPositions() - 12);
        int S = dirs.length, late = S - 1;
        int[][] prompts = new int[S][];
        List<List<float[]>> expected = new ArrayList<>();
        for (int s = 0; s < S; s++) {
            prompts[s] = randomIds(lengths[s], base.vocabSize(), 10 + s);
            expected.add(alone(dir, dirs[s], prompts[s], steps));
        }
        KvCache[] caches = new KvCache[S];
        int[] next = new int[S], done = new int[S];
        for (int step = 0; step <= steps + 2; step++) {
            List<SequenceBatch.Sequence> batch = new ArrayList<>();
            List<Integer> who = new ArrayList<>();
            for (int s = 0; s < S; s++) {
                if (s == late && step < 2 || done[s] > steps) continue;
                if (caches[s] == null) {                          // joins: its prompt runs alone first, as a server's prefill
                    caches[s] = base.newKvCache(prompts[s].length + steps);
                    Tensor first = base.forwardBatch(SequenceBatch.of(List.of(new SequenceBatch.Sequence(prompts[s], caches[s], adapters[s]))));
                    assertArrayEquals(expected.get(s).get(0), first.data(), fixture + " prefill of sequence " + s);
                    next[s] = Sampler.argmax(first.data());
                    done[s] = 1;
                    continue;
                }
                batch.add(new SequenceBatch.Sequence(new int[] {next[s]}, caches[s], adapters[s]));
                who.add(s);
            }
            if (batch.isEmpty()) continue;
            Tensor logits = base.forwardBatch(SequenceBatch.of(batch));
            assertEquals(batch.size() * base.vocabSize(), logits.size());
            for (int i = 0; i < who.size(); i++) {
                int s = who.get(i);
                float[] got = row(logits, i);
                assertArrayEquals(expected.get(s).get(done[s]), got, fixture + " sequence " + s + " step " + done[s]);
                next[s] = Sampler.argmax(got);
                done[s]++;
            }
        }
        for (int s = 0; s < S; s++) assertEquals(steps + 1, done[s], "sequence " + s + " ran every step");
    }

    @Test
    void aBatchMixingPromptsAndSingleTokensRunsEachSequenceAsAlone() {
        Path dir = TestData.dir("llama-golden");
        CausalLm base = ModelLoader.load(dir);
        Path a = adapter("llama-golden", new ModuleSpec.AllLinear(), 4, 7);
        AdapterWeights wa = AdapterWeights.read(a, base);
        int[] p0 = randomIds(4, base.vocabSize(), 1), p1 = randomIds(6, base.vocabSize(), 2);
        List<float[]> e0 = alone(dir, a, p0, 1), e1 = alone(dir, null, p1, 0);
        KvCache c0 = base.newKvCache(8), c1 = base.newKvCache(8);
        Tensor first = base.forwardBatch(SequenceBatch.of(List.of(new SequenceBatch.Sequence(p0, c0, wa))));
        Tensor mixed = base.forwardBatch(SequenceBatch.of(List.of(new SequenceBatch.Sequence(new int[] {Sampler.argmax(first.data())}, c0, wa),
                new SequenceBatch.Sequence(p1, c1, null))));
        assertArrayEquals(e0.get(1), row(mixed, 0), "a decoding step beside a prompt");
        assertArrayEquals(e1.get(0), row(mixed, 1), "a prompt beside a decoding step: its last row");
        assertEquals(5, c0.length());
        assertEquals(6, c1.length());
    }

    @Test
    void refusesSequencesPastTheContextAndInjectedAdaptersInSharedBatches() {
        CausalLm base = ModelLoader.load(TestData.dir("gpt2-golden"));
        int N = base.maxPositions();
        KvCache full = base.newKvCache(N), other = base.newKvCache(4);
        base.forwardCached(randomIds(N, base.vocabSize(), 1), full, 1);
        Lora4jException e = assertThrows(Lora4jException.class, () -> base.forwardBatch(SequenceBatch.of(List.of(
                new SequenceBatch.Sequence(new int[] {1}, other, null), new SequenceBatch.Sequence(new int[] {1}, full, null)))));
        assertTrue(e.getMessage().contains("n_positions " + N), e.getMessage());
        assertEquals(0, other.length(), "nothing advanced");
        CausalLm injected = ModelLoader.load(TestData.dir("gpt2-golden"));
        LoraInjector.apply(injected, LoraConfig.defaults("gpt2"), 1);
        KvCache x = injected.newKvCache(4), y = injected.newKvCache(4);
        assertThrows(IllegalArgumentException.class, () -> injected.forwardBatch(SequenceBatch.of(List.of(
                new SequenceBatch.Sequence(new int[] {1}, x, null), new SequenceBatch.Sequence(new int[] {2}, y, null)))));
    }

    @Test
    void adaptersThatChangeTheBaseAreRefused() throws Exception {
        CausalLm base = ModelLoader.load(TestData.dir("gpt2-golden"));
        CausalLm model = ModelLoader.load(TestData.dir("gpt2-golden"));
        LoraConfig config = LoraConfig.defaults("gpt2").withBias(LoraConfig.Bias.ALL);
        LoraInjector.apply(model, config, 1);
        Path dir = tmp.resolve("bias");
        AdapterIO.save(dir, model, config);
        Lora4jException e = assertThrows(Lora4jException.class, () -> AdapterWeights.read(dir, base));
        assertTrue(e.getMessage().contains("bias"), e.getMessage());
        Files.writeString(dir.resolve(AdapterIO.CONFIG_FILE), LoraConfig.defaults("gpt2").toJson());
        e = assertThrows(Lora4jException.class, () -> AdapterWeights.read(dir, base));
        assertTrue(e.getMessage().contains("tensors that map to no adapter parameter"), e.getMessage());
    }
}
