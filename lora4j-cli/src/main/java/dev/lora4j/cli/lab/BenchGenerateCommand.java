package dev.lora4j.cli.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.generate.Generator;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.KernelProvider;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.LoraLinear;
import dev.lora4j.lora.Merger;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j bench generate}: batch-1 greedy decoding with the KV cache ({@link Generator}, the path of
 * {@code lora4j generate}) on one random-weight model of a {@code bench train} preset, three ways in one
 * process — {@code base}; {@code unmerged}: a LoRA adapter with random non-zero A and B on the targets,
 * applied as a wrapper (two thin matmuls per target and token); {@code merged}: the same adapter folded
 * into a copy of the base weights and the wrappers removed (PEFT's merge_and_unload), so it runs exactly
 * the base's network. {@code base} and {@code unmerged} share the base weights (the wrappers are swapped in
 * and out); {@code merged} is a second copy.
 *
 * <p>Correctness first: the greedy tokens of {@code merged} and {@code unmerged} must be identical (and the
 * prompt's logits close), else the command fails. That run also warms the JIT; then {@code --runs} rounds
 * time base, merged, unmerged in turn, and each variant reports its medians. {@code prefill_s} is the time
 * to the first new token (the prompt's forward pass); {@code decode_s} the remaining new_tokens − 1 steps,
 * each one forward pass over one token against the cache; {@code decode_tokens_per_s} = (new_tokens − 1) /
 * decode_s. One JSON line per variant, then one with the ratios.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time batch-1 greedy decoding (KV cache) on random weights for the base model, a merged LoRA adapter and the"
                + " same adapter unmerged; one JSON line per variant, then the ratios.")
public final class BenchGenerateCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "gpt2-small", description = "gpt2-small, gpt2-tiny, llama-160m or llama-tiny (default: ${DEFAULT-VALUE}).")
    String preset;
    @Option(names = "--prompt-len", defaultValue = "128", description = "Prompt tokens, random ids (default: ${DEFAULT-VALUE}).")
    int promptLen;
    @Option(names = "--new-tokens", defaultValue = "128", description = "Tokens to generate, at least 2 (default: ${DEFAULT-VALUE}).")
    int newTokens;
    @Option(names = "--rank", defaultValue = "8")
    int rank;
    @Option(names = "--alpha", defaultValue = "16")
    double alpha;
    @Option(names = "--targets", split = ",", description = "Default: c_attn (GPT-2), q_proj,v_proj (Llama).")
    List<String> targets;
    @Option(names = "--runs", defaultValue = "3", description = "Timed rounds over the three variants, after the checked run (default: ${DEFAULT-VALUE}).")
    int runs;
    @Option(names = "--json", description = "Print only the JSON lines (the default output is the same lines).")
    boolean json;

    @Spec
    CommandSpec spec;

    private static final List<String> VARIANTS = List.of("base", "merged", "unmerged");

    /** One generation's timings: prompt to first token, then the other new tokens. */
    private record Timing(int[] tokens, double prefillS, double decodeS) {}

    @Override
    public Integer call() throws IOException {
        BenchTrainCommand.Preset p = BenchTrainCommand.preset(preset);
        if (promptLen < 1) throw new Lora4jException("--prompt-len must be at least 1, got " + promptLen);
        if (newTokens < 2) throw new Lora4jException("--new-tokens must be at least 2 (one token comes from the prefill), got " + newTokens);
        if (runs < 1) throw new Lora4jException("--runs must be at least 1, got " + runs);
        List<String> t = targets != null ? targets : p.defaultTargets();
        int ctx = Math.max(1024, promptLen + newTokens);
        LoraConfig lora = BenchTrainCommand.loraConfig(p, rank, alpha, t).withInit(LoraConfig.Init.RANDOM);   // B ≠ 0

        // unmerged: the base weights with the adapter's wrappers; base: the same weights, wrappers swapped out.
        CausalLm shared = BenchTrainCommand.build(p, ctx, 0);
        LoraInjector.apply(shared, lora, 0);
        Map<String, LoraLinear> adapter = LoraInjector.loraLayers(shared);
        // merged: a second copy of the same base weights, the same A and B folded in, wrappers removed.
        CausalLm merged = BenchTrainCommand.build(p, ctx, 0);
        LoraInjector.apply(merged, lora, 0);
        LoraInjector.loraLayers(merged).forEach((name, l) -> {
            LoraLinear src = adapter.get(name);
            System.arraycopy(src.loraA().data(), 0, l.loraA().data(), 0, l.loraA().size());
            System.arraycopy(src.loraB().data(), 0, l.loraB().data(), 0, l.loraB().size());
        });
        Merger.merge(merged);
        LoraInjector.loraLayers(merged).forEach((name, l) -> swap(merged.module(), name, l.base()));
        shared.module().train(false);
        merged.module().train(false);

        int[] prompt = new SplittableRandom(1).ints(promptLen, 0, p.vocab()).toArray();
        GenerationConfig greedy = GenerationConfig.greedy(newTokens);

        // Correctness (and JIT warm-up): merged and unmerged give the same tokens; the adapter changes them.
        setAdapter(shared, adapter, true);
        Timing unmergedRun = generate(shared, prompt, greedy);
        Timing mergedRun = generate(merged, prompt, greedy);
        if (!Arrays.equals(unmergedRun.tokens(), mergedRun.tokens())) {
            int i = 0;
            while (unmergedRun.tokens()[i] == mergedRun.tokens()[i]) i++;
            throw new Lora4jException("merged and unmerged greedy tokens differ at new token " + i + " (" + mergedRun.tokens()[i] + " vs "
                    + unmergedRun.tokens()[i] + "): merging is wrong or the logits are too close to call");
        }
        float logitDiff = maxAbsDiff(lastLogits(merged, prompt), lastLogits(shared, prompt));
        setAdapter(shared, adapter, false);
        Timing baseRun = generate(shared, prompt, greedy);
        boolean adapterChangesTokens = !Arrays.equals(baseRun.tokens(), unmergedRun.tokens());

        Map<String, List<Timing>> timings = new LinkedHashMap<>();
        VARIANTS.forEach(v -> timings.put(v, new ArrayList<>()));
        for (int r = 0; r < runs; r++) {
            for (String v : VARIANTS) {
                if (!v.equals("merged")) setAdapter(shared, adapter, v.equals("unmerged"));
                Timing timing = generate(v.equals("merged") ? merged : shared, prompt, greedy);
                int[] expected = v.equals("base") ? baseRun.tokens() : unmergedRun.tokens();
                if (!Arrays.equals(timing.tokens(), expected)) throw new Lora4jException(v + ": run " + r + " gave other tokens than the first run");
                timings.get(v).add(timing);
            }
        }

        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        double rss = BenchTrainCommand.peakRssMb();
        Map<String, Double> decode = new LinkedHashMap<>(), prefill = new LinkedHashMap<>();
        for (String v : VARIANTS) {
            double prefillS = median(timings.get(v).stream().mapToDouble(Timing::prefillS).toArray());
            double decodeS = median(timings.get(v).stream().mapToDouble(Timing::decodeS).toArray());
            prefill.put(v, prefillS);
            decode.put(v, decodeS);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("impl", "lora4j-" + KernelProvider.get().name());
            o.put("variant", v);
            o.put("preset", preset);
            o.put("prompt_len", promptLen);
            o.put("new_tokens", newTokens);
            o.put("rank", v.equals("base") ? null : rank);
            o.put("targets", v.equals("base") ? null : t);
            o.put("runs", runs);
            o.put("prefill_s", BenchTrainCommand.round(prefillS, 6));
            o.put("decode_s", BenchTrainCommand.round(decodeS, 6));
            o.put("decode_tokens_per_s", BenchTrainCommand.round((newTokens - 1) / decodeS, 2));
            o.put("decode_ms_per_token", BenchTrainCommand.round(1000 * decodeS / (newTokens - 1), 3));
            o.put("threads", Gemm.threads());
            o.put("peak_rss_mb", BenchTrainCommand.round(rss, 1));
            out.println(mapper.writeValueAsString(o));
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("preset", preset);
        o.put("overhead", "decode_s and prefill_s ratios to base (medians)");
        o.put("unmerged_over_base", BenchTrainCommand.round(decode.get("unmerged") / decode.get("base"), 3));
        o.put("merged_over_base", BenchTrainCommand.round(decode.get("merged") / decode.get("base"), 3));
        o.put("prefill_unmerged_over_base", BenchTrainCommand.round(prefill.get("unmerged") / prefill.get("base"), 3));
        o.put("prefill_merged_over_base", BenchTrainCommand.round(prefill.get("merged") / prefill.get("base"), 3));
        o.put("merged_equals_unmerged_tokens", true);
        o.put("merged_vs_unmerged_max_abs_logit_diff", (double) logitDiff);
        o.put("adapter_changes_tokens", adapterChangesTokens);
        out.println(mapper.writeValueAsString(o));
        return 0;
    }

    /** Greedy generation of the model as it stands, timed: start to first token, first token to last. */
    private static Timing generate(CausalLm model, int[] prompt, GenerationConfig config) {
        long[] first = new long[1];
        boolean[] seen = new boolean[1];
        long t0 = System.nanoTime();
        Generator.Result r = Generator.generate(model, prompt, config, token -> {
            if (!seen[0]) {
                first[0] = System.nanoTime();
                seen[0] = true;
            }
        });
        long t1 = System.nanoTime();
        if (r.tokens().length != config.maxNewTokens()) throw new IllegalStateException("stopped after " + r.tokens().length + " tokens");
        return new Timing(r.tokens(), (first[0] - t0) / 1e9, (t1 - first[0]) / 1e9);
    }

    /** Puts the LoRA wrappers in (the unmerged adapter) or their base layers back (the plain base model). */
    private static void setAdapter(CausalLm model, Map<String, LoraLinear> adapter, boolean on) {
        adapter.forEach((name, l) -> swap(model.module(), name, on ? l : l.base()));
    }

    private static void swap(Module root, String path, Module replacement) {
        int dot = path.lastIndexOf('.');
        root.find(dot < 0 ? "" : path.substring(0, dot)).replaceChild(path.substring(dot + 1), replacement);
    }

    /** The logits after the whole prompt (one prefill on a fresh cache). */
    private static float[] lastLogits(CausalLm model, int[] prompt) {
        Tensor logits = model.forwardCached(prompt, model.newKvCache(prompt.length), 1);
        return logits.data().clone();
    }

    private static float maxAbsDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
