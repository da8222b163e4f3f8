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
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
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
 * {@code lora4j generate}), timed.
 *
 * <p>With {@code --preset}: one random-weight model of a {@code bench train} preset, three ways in one process —
 * {@code base}; {@code unmerged}: a LoRA adapter with random non-zero A and B on the targets, applied as a wrapper (two
 * thin matmuls per target and token); {@code merged}: the same adapter folded into a copy of the base weights and the
 * wrappers removed (PEFT's merge_and_unload), so it runs exactly the base's network. {@code base} and {@code unmerged}
 * share the base weights (the wrappers are swapped in and out); {@code merged} is a second copy. {@code --control} adds
 * {@code base_copy}: a second copy built exactly as {@code merged} is but never merged, which tells a cost of merging
 * from a cost of running from a freshly allocated copy of the weights (page placement). Correctness first: the greedy
 * tokens of {@code merged} and {@code unmerged} must be identical, else the command fails; that run also warms the JIT.
 * Then {@code --runs} rounds run every variant once each, the order rotated by one every round (ABC, BCA, CAB, ...), so
 * that neither run order nor drift (heap growth, JIT, a neighbour's load) favours one variant; each reports its median,
 * min and max.
 *
 * <p>With {@code --model FILE.gguf} (or any model directory): that model as it is stored (a quantized GGUF decodes from
 * its blocks), variant {@code base} only, on random prompt ids; the line adds what llama.cpp's side prints
 * ({@code tools/bench/llama_cpp_generate.mjs}): prefill and decode tokens/s and {@code weight_bytes_per_token}, the
 * bytes of weights one decoding step reads (every matrix; the embedding table only when it is also the output head), so
 * that bytes × tokens/s is the memory bandwidth reached.
 *
 * <p>{@code prefill_s} is the time to the first new token (the prompt's forward pass); {@code decode_s} the remaining
 * new_tokens − 1 steps, each one forward pass over one token against the cache; {@code decode_tokens_per_s} =
 * (new_tokens − 1) / decode_s. One JSON line per variant, then (presets) one with the ratios.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time batch-1 greedy decoding (KV cache): a preset's random weights as base, merged LoRA and unmerged LoRA"
                + " (rounds interleaved, order rotated), or --model FILE.gguf as stored; one JSON line per variant.")
public final class BenchGenerateCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "gpt2-small", description = "gpt2-small, gpt2-tiny, llama-160m or llama-tiny (default: ${DEFAULT-VALUE}).")
    String preset;
    @Option(names = "--model", description = "Time this model instead (a .gguf file, quantized or not, or a model directory): base only, as stored.")
    Path model;
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
    @Option(names = "--runs", defaultValue = "3", description = "Timed rounds over the variants (order rotated each round), after the checked run (default: ${DEFAULT-VALUE}).")
    int runs;
    @Option(names = "--control", description = "Add base_copy: a second copy of the base built as merged is, not merged (placement vs merging).")
    boolean control;
    @Option(names = "--json", description = "Print only the JSON lines (the default output is the same lines).")
    boolean json;

    @Spec
    CommandSpec spec;


    /** One generation's timings: prompt to first token, then the other new tokens. */
    private record Timing(int[] tokens, double prefillS, double decodeS) {}

    @Override
    public Integer call() throws IOException {
        if (promptLen < 1) throw new Lora4jException("--prompt-len must be at least 1, got " + promptLen);
        if (newTokens < 2) throw new Lora4jException("--new-tokens must be at least 2 (one token comes from the prefill), got " + newTokens);
        if (runs < 1) throw new Lora4jException("--runs must be at least 1, got " + runs);
        if (model != null) return timeModel();
        BenchTrainCommand.Preset p = BenchTrainCommand.preset(preset);
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
        CausalLm copy = control ? BenchTrainCommand.build(p, ctx, 0) : null;       // base_copy: allocated as merged is, not merged
        if (copy != null) {
            LoraInjector.apply(copy, lora, 0);
            LoraInjector.loraLayers(copy).forEach((name, l) -> swap(copy.module(), name, l.base()));
            copy.module().train(false);
        }
        List<String> variants = control ? List.of("base", "merged", "unmerged", "base_copy") : List.of("base", "merged", "unmerged");

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
        variants.forEach(v -> timings.put(v, new ArrayList<>()));
        for (int r = 0; r < runs; r++) {
            for (int i = 0; i < variants.size(); i++) {
                String v = variants.get((i + r) % variants.size());                  // ABC, BCA, CAB, ...: order rotated
                if (v.equals("base") || v.equals("unmerged")) setAdapter(shared, adapter, v.equals("unmerged"));
                CausalLm m = switch (v) {
                    case "merged" -> merged;
                    case "base_copy" -> copy;
                    default -> shared;
                };
                Timing timing = generate(m, prompt, greedy);
                int[] expected = v.startsWith("base") ? baseRun.tokens() : unmergedRun.tokens();
                if (!Arrays.equals(timing.tokens(), expected)) throw new Lora4jException(v + ": run " + r + " gave other tokens than the first run");
                timings.get(v).add(timing);
            }
        }

        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        double rss = BenchTrainCommand.peakRssMb();
        Map<String, Double> decode = new LinkedHashMap<>(), prefill = new LinkedHashMap<>();
        for (String v : variants) {
            double[] decodeS = timings.get(v).stream().mapToDouble(Timing::decodeS).toArray();
            double[] prefillS = timings.get(v).stream().mapToDouble(Timing::prefillS).toArray();
            prefill.put(v, median(prefillS));
            decode.put(v, median(decodeS));
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("impl", "lora4j-" + KernelProvider.get().name());
            o.put("variant", v);
            o.put("preset", preset);
            o.put("prompt_len", promptLen);
            o.put("new_tokens", newTokens);
            o.put("rank", v.startsWith("base") ? null : rank);
            o.put("targets", v.startsWith("base") ? null : t);
            o.put("runs", runs);
            o.put("order", "rotated");
            putTimes(o, prefillS, decodeS);
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
        if (control) o.put("base_copy_over_base", BenchTrainCommand.round(decode.get("base_copy") / decode.get("base"), 3));
        o.put("merged_equals_unmerged_tokens", true);
        o.put("merged_vs_unmerged_max_abs_logit_diff", (double) logitDiff);
        o.put("adapter_changes_tokens", adapterChangesTokens);
        out.println(mapper.writeValueAsString(o));
        return 0;
    }

    /** {@code --model}: the stored model's base decoding, timed, one JSON line with llama_cpp_generate.mjs's fields. */
    private int timeModel() throws IOException {
        CausalLm m = ModelLoader.load(model);
        m.module().train(false);
        int[] prompt = new SplittableRandom(1).ints(promptLen, 0, m.vocabSize()).toArray();
        GenerationConfig greedy = GenerationConfig.greedy(newTokens);
        int[] first = generate(m, prompt, greedy).tokens();                      // JIT warm-up; the tokens every run must give
        List<Timing> timings = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            Timing timing = generate(m, prompt, greedy);
            if (!Arrays.equals(timing.tokens(), first)) throw new Lora4jException("run " + r + " gave other tokens than the first run");
            timings.add(timing);
        }
        double[] decodeS = timings.stream().mapToDouble(Timing::decodeS).toArray();
        double[] prefillS = timings.stream().mapToDouble(Timing::prefillS).toArray();
        long bytes = weightBytesPerToken(m);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("impl", "lora4j-" + KernelProvider.get().name());
        o.put("model", model.toString());
        o.put("variant", "base");
        o.put("prompt_len", promptLen);
        o.put("new_tokens", newTokens);
        o.put("runs", runs);
        putTimes(o, prefillS, decodeS);
        o.put("weight_bytes_per_token", bytes);
        o.put("decode_gb_per_s", BenchTrainCommand.round(bytes * (newTokens - 1) / median(decodeS) / 1e9, 2));
        o.put("threads", Gemm.threads());
        o.put("peak_rss_mb", BenchTrainCommand.round(BenchTrainCommand.peakRssMb(), 1));
        spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(o));
        return 0;
    }

    /**
     * Bytes of weights one decoding step reads: every matrix as stored (a tied one once; norms and biases left out, as
     * llama_cpp_generate.mjs leaves out tensors of one dimension), less the embedding tables
     * (one row each per token) unless the table is also the output head (tied: {@link CausalLm#outputHead()} is null).
     */
    static long weightBytesPerToken(CausalLm m) {
        java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        long bytes = 0;
        for (Map.Entry<String, Tensor> e : m.module().namedParameters().entrySet()) {
            if (!seen.add(e.getValue()) || e.getValue().shape().rank() < 2) continue;
            String name = e.getKey();
            boolean embedding = name.endsWith("embed_tokens.weight") || name.endsWith("wte.weight") || name.endsWith("wpe.weight");
            boolean head = m.outputHead() == null && !name.endsWith("wpe.weight");
            if (embedding && !head) continue;
            bytes += e.getValue().storage().bytes();
        }
        return bytes;
    }

    /** prefill and decode medians, min and max (seconds and tokens/s) into a JSON line. */
    private void putTimes(Map<String, Object> o, double[] prefillS, double[] decodeS) {
        double prefill = median(prefillS), decode = median(decodeS);
        o.put("prefill_s", BenchTrainCommand.round(prefill, 6));
        o.put("prefill_tokens_per_s", BenchTrainCommand.round(promptLen / prefill, 2));
        o.put("decode_s", BenchTrainCommand.round(decode, 6));
        o.put("decode_s_min", BenchTrainCommand.round(Arrays.stream(decodeS).min().orElseThrow(), 6));
        o.put("decode_s_max", BenchTrainCommand.round(Arrays.stream(decodeS).max().orElseThrow(), 6));
        o.put("decode_tokens_per_s", BenchTrainCommand.round((newTokens - 1) / decode, 2));
        o.put("decode_ms_per_token", BenchTrainCommand.round(1000 * decode / (newTokens - 1), 3));
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
