// The spectrum of each LoRA update ΔW = scale·B·A, for the rank analysis of Hu et al. 2021 (LoRA, arXiv
// 2106.09685) §7: its singular values (from the factors, see Svd), ‖ΔW‖_F, and two effective ranks:
//  - numerical rank: #{k : σ_k > 1e-6·σ_max} (0 for ΔW = 0), the rank a float32 computation can tell apart;
//  - entropy effective rank (Roy & Vetterli, "The effective rank: a measure of effective dimensionality",
//    EUSIPCO 2007): exp(H(p)), p_k = σ_k / Σ_l σ_l, H(p) = −Σ p_k·ln p_k (0·ln 0 = 0); a real number in
//    [1, numerical rank], equal to n when n singular values are equal and the rest zero; 0 for ΔW = 0.
package dev.lora4j.analysis;

import dev.lora4j.linalg.Svd;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Every module's spectrum of one adapter, in the adapter's module order. */
public record AdapterSpectrum(Path adapter, List<ModuleSpectrum> modules) {
    /** Singular values at most this fraction of σ_max do not count towards the numerical rank. */
    public static final double RANK_TOLERANCE = 1e-6;

    public AdapterSpectrum {
        modules = List.copyOf(modules);
    }

    /**
     * One module: ΔW is out×in with LoRA rank r; {@code singularValues} are all p = min(r, out, in) of them in
     * descending order (the other singular values of ΔW are zero).
     */
    public record ModuleSpectrum(String module, int out, int in, int rank, double scale, double[] singularValues,
                                 double frobenius, int numericalRank, double entropyRank) {
        /** Fraction of ‖ΔW‖²_F carried by the top k singular directions. */
        public double energy(int k) {
            double top = 0, all = 0;
            for (int i = 0; i < singularValues.length; i++) {
                double e = singularValues[i] * singularValues[i];
                all += e;
                if (i < k) top += e;
            }
            return all == 0 ? 0 : top / all;
        }
    }

    /** The spectrum of every module of {@code adapter} (or of those in {@code only}, when not null), in its order. */
    public static AdapterSpectrum of(LoraAdapter adapter, List<String> only) {
        List<ModuleSpectrum> list = new ArrayList<>();
        for (String m : only == null ? adapter.modules() : only) list.add(of(adapter.factors(m)));
        return new AdapterSpectrum(adapter.dir(), list);
    }

    /** The spectrum of one module's ΔW = scale·B·A. */
    public static ModuleSpectrum of(LoraAdapter.Factors f) {
        double[] s = Svd.ofProduct(f.b(), f.a(), f.scale()).s();
        double sq = 0;
        for (double x : s) sq += x * x;
        return new ModuleSpectrum(f.module(), f.out(), f.in(), f.rank(), f.scale(), s, Math.sqrt(sq),
                numericalRank(s, RANK_TOLERANCE), entropyRank(s));
    }

    /** #{k : σ_k > tol·σ_max}; 0 when every σ is 0. */
    public static int numericalRank(double[] s, double tol) {
        double max = 0;
        for (double x : s) max = Math.max(max, x);
        int n = 0;
        for (double x : s) if (max > 0 && x > tol * max) n++;
        return n;
    }

    /** Roy &amp; Vetterli's effective rank exp(−Σ p_k ln p_k), p_k = σ_k/Σσ; 0 when every σ is 0. */
    public static double entropyRank(double[] s) {
        double sum = 0;
        for (double x : s) sum += x;
        if (sum == 0) return 0;
        double h = 0;
        for (double x : s) {
            double p = x / sum;
            if (p > 0) h -= p * Math.log(p);
        }
        return Math.exp(h);
    }
}
