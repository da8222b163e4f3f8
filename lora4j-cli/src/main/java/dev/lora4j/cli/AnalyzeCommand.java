// lora4j analyze: the rank analysis of Hu et al. 2021 (LoRA, arXiv 2106.09685) §7 on PEFT adapters: per module
// the singular values of ΔW = scale·B·A, its effective ranks and ‖ΔW‖_F; with --compare, the normalized subspace
// similarity φ(i, j) of §7.2 (Eq. 4) between two adapters, as tables and a PNG heat map (their Figures 3 and 4).
package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.analysis.AdapterSpectrum;
import dev.lora4j.analysis.AdapterSpectrum.ModuleSpectrum;
import dev.lora4j.analysis.LoraAdapter;
import dev.lora4j.analysis.SubspaceSimilarity;
import dev.lora4j.analysis.SubspaceSimilarity.Subspace;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lora4j analyze ADAPTER [--compare OTHER]}: spectra of the LoRA updates and their subspace similarity. */
@Command(name = "analyze", mixinStandardHelpOptions = true,
        description = {"Rank analysis of a PEFT LoRA adapter (Hu et al. 2021, sec. 7). Per module:",
                "the singular values of dW = scale*B*A, its numerical rank (singular values",
                "above 1e-6 * the largest), its entropy effective rank (Roy & Vetterli 2007)",
                "and its Frobenius norm. With --compare, the normalized subspace similarity",
                "  phi(i, j) = ||U1[:, :i]^T U2[:, :j]||_F^2 / min(i, j)   (the paper's Eq. 4)",
                "for i <= r1 and j <= r2, per module, as a table and (--png) a heat map."})
final class AnalyzeCommand implements Callable<Integer> {
    static final String RANK_DEFINITION = "rank  = numerical rank, #{k : sigma_k > 1e-6 * sigma_max}";
    static final String ERANK_DEFINITION = "erank = entropy effective rank exp(-sum p_k ln p_k), p_k = sigma_k / sum(sigma) (Roy & Vetterli 2007)";
    static final String PHI_DEFINITION = "phi(i, j) = ||U1[:, :i]^T U2[:, :j]||_F^2 / min(i, j) in [0, 1] (Hu et al. 2021, sec. 7.2, Eq. 4)";

    @Parameters(paramLabel = "ADAPTER", description = "PEFT adapter directory (adapter_config.json, adapter_model.safetensors).")
    Path adapter;

    @Option(names = "--compare", paramLabel = "OTHER", description = "A second adapter on the same modules (e.g. another rank or seed).")
    Path other;

    @Option(names = "--top", paramLabel = "K", description = "Print only the K largest singular values, and phi only for i, j <= K "
            + "(default: all; the PNG always shows every i and j).")
    Integer top;

    @Option(names = "--module", paramLabel = "NAME", description = "Only this module: its full path or a dotted suffix (c_attn, h.0.attn.c_attn); "
            + "may be repeated. Default: every adapted module.")
    List<String> moduleNames;

    @Option(names = "--subspace", paramLabel = "SIDE", defaultValue = "a", description = "Singular vectors phi compares: a (right singular "
            + "vectors of A, the input side, as the paper; default), b (left singular vectors of B, output side), input or "
            + "output (right or left singular vectors of dW itself).")
    String subspace;

    @Option(names = "--png", paramLabel = "FILE", description = "Draw phi as a heat map, one panel per module (needs --compare).")
    Path png;

    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (top != null && top < 1) throw new ParameterException(spec.commandLine(), "--top must be at least 1, got " + top);
        if (png != null && other == null) throw new ParameterException(spec.commandLine(), "--png draws phi between two adapters: give --compare OTHER");
        Subspace side;
        try {
            side = Subspace.parse(subspace);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--subspace: " + e.getMessage());
        }
        try (LoraAdapter x = LoraAdapter.open(adapter); LoraAdapter y = other == null ? null : LoraAdapter.open(other)) {
            List<String> chosen = select(x, moduleNames);
            if (y != null) chosen = SubspaceSimilarity.checkSameModules(x, y, chosen);
            List<AdapterSpectrum> spectra = new ArrayList<>(List.of(AdapterSpectrum.of(x, chosen)));
            if (y != null) spectra.add(AdapterSpectrum.of(y, chosen == null ? x.modules() : chosen));
            List<SubspaceSimilarity> sims = y == null ? List.of() : SubspaceSimilarity.compare(x, y, side, chosen);
            if (png != null) {
                List<HeatMap.Panel> panels = sims.stream().map(s -> new HeatMap.Panel(s.module(), s.phi())).toList();
                HeatMap.write(png, "Subspace similarity \u03c6(i, j), " + side.description,
                        "U1: " + x.dir() + " (r=" + x.config().r() + ")    U2: " + y.dir() + " (r=" + y.config().r() + ")", panels);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) out.println(new ObjectMapper().writeValueAsString(json(List.of(x, y == null ? x : y), spectra, sims, side)));
            else table(out, List.of(x, y == null ? x : y), spectra, sims, side);
        }
        return 0;
    }

    /** The modules NAME selects, in the adapter's order; null when no --module was given (all). */
    static List<String> select(LoraAdapter x, List<String> names) {
        if (names == null || names.isEmpty()) return null;
        Set<String> picked = new LinkedHashSet<>();
        for (String name : names) {
            List<String> hits = x.modules().stream().filter(m -> m.equals(name) || m.endsWith("." + name)).toList();
            if (hits.isEmpty()) {
                throw new Lora4jException("--module " + name + ": no adapted module of " + x.dir() + " matches (it has: "
                        + String.join(", ", x.modules().subList(0, Math.min(8, x.modules().size())))
                        + (x.modules().size() > 8 ? ", ..." : "") + ")");
            }
            picked.addAll(hits);
        }
        return x.modules().stream().filter(picked::contains).toList();
    }

    private void table(PrintWriter out, List<LoraAdapter> adapters, List<AdapterSpectrum> spectra, List<SubspaceSimilarity> sims, Subspace side) {
        int width = spectra.getFirst().modules().stream().mapToInt(m -> m.module().length()).max().orElse(6);
        for (int a = 0; a < spectra.size(); a++) {
            LoraAdapter ad = adapters.get(a);
            AdapterSpectrum s = spectra.get(a);
            int shape = Math.max(8, s.modules().stream().mapToInt(m -> (m.out() + " x " + m.in()).length()).max().orElse(8));
            out.printf("adapter %s (r=%d, lora_alpha=%s%s), %d module%s%n", ad.dir(), ad.config().r(), num(ad.config().loraAlpha()),
                    ad.config().useRslora() ? ", rslora" : "", s.modules().size(), s.modules().size() == 1 ? "" : "s");
            out.printf("  %-" + width + "s  %-" + shape + "s  %4s  %7s  %9s  %4s  %6s  %s%n", "module", "out x in", "r", "scale", "|dW|_F", "rank",
                    "erank", top == null ? "singular values of dW = scale*B*A" : "top " + top + " singular values of dW = scale*B*A");
            for (ModuleSpectrum m : s.modules()) {
                StringBuilder sv = new StringBuilder();
                for (double v : limit(m.singularValues())) sv.append(sv.isEmpty() ? "" : " ").append(String.format("%.3e", v));
                out.printf("  %-" + width + "s  %-" + shape + "s  %4d  %7s  %9.3e  %4d  %6.2f  %s%n", m.module(), m.out() + " x " + m.in(), m.rank(),
                        num(m.scale()), m.frobenius(), m.numericalRank(), m.entropyRank(), sv);
            }
            out.println();
        }
        out.println(RANK_DEFINITION);
        out.println(ERANK_DEFINITION);
        if (sims.isEmpty()) return;
        out.println();
        out.println("subspace similarity " + PHI_DEFINITION);
        out.printf("U = %s; U1 from %s, U2 from %s%n", side.description, adapters.get(0).dir(), adapters.get(1).dir());
        for (SubspaceSimilarity s : sims) {
            out.println();
            double[][] phi = s.phi();
            int ri = limit(phi.length), rj = limit(phi[0].length);
            out.printf("%s  (i <= %d of %d, j <= %d of %d)%n", s.module(), ri, phi.length, rj, phi[0].length);
            StringBuilder head = new StringBuilder("  i\\j");
            for (int j = 1; j <= rj; j++) head.append(String.format(" %6d", j));
            out.println(head);
            for (int i = 1; i <= ri; i++) {
                StringBuilder row = new StringBuilder(String.format("  %3d", i));
                for (int j = 1; j <= rj; j++) row.append(String.format(" %6.3f", phi[i - 1][j - 1]));
                out.println(row);
            }
            note(out, s.rank1(), phi.length, adapters.get(0).dir(), side);
            note(out, s.rank2(), phi[0].length, adapters.get(1).dir(), side);
        }
        if (png != null) out.printf("%nheat map written to %s%n", png);
    }

    private static void note(PrintWriter out, int rank, int p, Path dir, Subspace side) {
        if (rank < p) {
            out.printf("  note: the matrix from %s has numerical rank %d < %d: its singular vectors past %d are arbitrary,%n"
                    + "        and so is phi for those i or j%s%n", dir, rank, p, rank,
                    rank == 0 && side != Subspace.A ? " (dW = 0: an untrained adapter, B = 0?)" : "");
        }
    }

    private Map<String, Object> json(List<LoraAdapter> adapters, List<AdapterSpectrum> spectra, List<SubspaceSimilarity> sims, Subspace side) {
        Map<String, Object> o = new LinkedHashMap<>();
        List<Object> list = new ArrayList<>();
        for (int a = 0; a < spectra.size(); a++) {
            Map<String, Object> ad = new LinkedHashMap<>();
            ad.put("adapter", adapters.get(a).dir().toString());
            ad.put("r", adapters.get(a).config().r());
            ad.put("lora_alpha", adapters.get(a).config().loraAlpha());
            List<Object> mods = new ArrayList<>();
            for (ModuleSpectrum m : spectra.get(a).modules()) {
                Map<String, Object> mo = new LinkedHashMap<>();
                mo.put("module", m.module());
                mo.put("out", m.out());
                mo.put("in", m.in());
                mo.put("r", m.rank());
                mo.put("scale", m.scale());
                mo.put("frobenius", m.frobenius());
                mo.put("numerical_rank", m.numericalRank());
                mo.put("entropy_rank", m.entropyRank());
                mo.put("singular_values", limit(m.singularValues()));
                mods.add(mo);
            }
            ad.put("modules", mods);
            list.add(ad);
        }
        o.put("adapters", list);
        o.put("definitions", Map.of("numerical_rank", RANK_DEFINITION.substring(8), "entropy_rank", ERANK_DEFINITION.substring(8)));
        if (!sims.isEmpty()) {
            Map<String, Object> sim = new LinkedHashMap<>();
            sim.put("definition", PHI_DEFINITION);
            sim.put("subspace", side.cliName);
            sim.put("vectors", side.description);
            List<Object> mods = new ArrayList<>();
            for (SubspaceSimilarity s : sims) {
                Map<String, Object> mo = new LinkedHashMap<>();
                mo.put("module", s.module());
                mo.put("numerical_rank_1", s.rank1());
                mo.put("numerical_rank_2", s.rank2());
                int ri = limit(s.phi().length), rj = limit(s.phi()[0].length);
                mo.put("phi", Arrays.stream(s.phi(), 0, ri).map(row -> Arrays.copyOf(row, rj)).toArray(double[][]::new));
                mods.add(mo);
            }
            sim.put("modules", mods);
            o.put("similarity", sim);
        }
        if (png != null) o.put("png", png.toString());
        return o;
    }

    private int limit(int n) {
        return top == null ? n : Math.min(n, top);
    }

    private double[] limit(double[] values) {
        return Arrays.copyOf(values, limit(values.length));
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : String.format("%.4g", v);
    }
}
