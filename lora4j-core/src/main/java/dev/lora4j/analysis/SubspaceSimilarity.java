// The normalized subspace similarity of Hu et al. 2021 (LoRA, arXiv 2106.09685) §7.2, Eq. 4:
//   φ(X, Y, i, j) = ‖U_X^{i⊤}·U_Y^{j}‖²_F / min(i, j) ∈ [0, 1],
// U^i the top-i singular vectors (columns) of a basis from X, U^j the top-j from Y. ‖U^{i⊤}U^j‖²_F is the sum of
// the squared cosines of the principal angles between the two subspaces, so φ = 1 when the smaller one lies in
// the larger and 0 when they are orthogonal (1 − φ is a normalized Grassmann-type distance). The paper takes
// the right-singular vectors of A (input side, the "right-singular unitary matrix U_A"), and notes the same can
// be done with B's left-singular vectors; lora4j offers those and also both sides of ΔW = scale·B·A.
package dev.lora4j.analysis;

import dev.lora4j.Lora4jException;
import dev.lora4j.linalg.Svd;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** φ(i, j) for one module: {@code phi[i-1][j-1]}, i ≤ p1 (first adapter), j ≤ p2 (second adapter). */
public record SubspaceSimilarity(String module, Subspace subspace, double[][] phi, int rank1, int rank2) {

    /** Which singular vectors φ compares. Directions past a matrix's numerical rank are arbitrary. */
    public enum Subspace {
        /** The paper's choice (§7.2): right singular vectors of A (r×in), in the input space, by A's σ. */
        A("a", "right singular vectors of A (input side, as Hu et al. 2021 sec. 7.2)"),
        /** The paper's stated alternative: left singular vectors of B (out×r), in the output space, by B's σ. */
        B("b", "left singular vectors of B (output side, the alternative sec. 7.2 mentions)"),
        /** Right singular vectors of ΔW = scale·B·A (its row space, input side), by ΔW's σ. */
        INPUT("input", "right singular vectors of dW = scale*B*A (input side)"),
        /** Left singular vectors of ΔW (its column space, output side), by ΔW's σ. */
        OUTPUT("output", "left singular vectors of dW = scale*B*A (output side)");

        public final String cliName, description;

        Subspace(String cliName, String description) {
            this.cliName = cliName;
            this.description = description;
        }

        public static Subspace parse(String name) {
            for (Subspace s : values()) if (s.cliName.equals(name)) return s;
            throw new IllegalArgumentException("unknown subspace '" + name + "', expected one of a, b, input, output");
        }
    }

    /** Orthonormal singular vectors (columns of a d×p row-major array) and the numerical rank of their matrix. */
    public record Basis(double[][] vectors, int rank) {}

    /** The basis {@code side} takes from one module's factors. */
    public static Basis basis(LoraAdapter.Factors f, Subspace side) {
        Svd svd = switch (side) {
            case A -> Svd.ofProduct(Svd.identity(f.rank()), f.a(), 1);
            case B -> Svd.ofProduct(f.b(), Svd.identity(f.rank()), 1);
            case INPUT, OUTPUT -> Svd.ofProduct(f.b(), f.a(), f.scale());
        };
        int rank = AdapterSpectrum.numericalRank(svd.s(), AdapterSpectrum.RANK_TOLERANCE);
        return new Basis(side == Subspace.A || side == Subspace.INPUT ? svd.v() : svd.u(), rank);
    }

    /**
     * φ(i, j) for every i ≤ p1, j ≤ p2, where {@code u1} (d×p1) and {@code u2} (d×p2) have orthonormal columns
     * ordered by decreasing singular value.
     */
    public static double[][] phi(double[][] u1, double[][] u2) {
        if (u1.length != u2.length) {
            throw new IllegalArgumentException("bases live in spaces of different dimension: " + u1.length + " and " + u2.length);
        }
        double[][] m = Svd.multiply(Svd.transpose(u1), u2);
        int p1 = m.length, p2 = u2.length == 0 ? 0 : u2[0].length;
        double[][] prefix = new double[p1 + 1][p2 + 1];           // prefix[i][j] = ‖U1^{i⊤}U2^{j}‖²_F
        double[][] phi = new double[p1][p2];
        for (int i = 1; i <= p1; i++) {
            double row = 0;                                        // sums of squares only: no cancellation
            for (int j = 1; j <= p2; j++) {
                row += m[i - 1][j - 1] * m[i - 1][j - 1];
                prefix[i][j] = prefix[i - 1][j] + row;
                phi[i - 1][j - 1] = prefix[i][j] / Math.min(i, j);
            }
        }
        return phi;
    }

    /** φ between one module of two adapters (same module path and shape). */
    public static SubspaceSimilarity of(LoraAdapter.Factors x, LoraAdapter.Factors y, Subspace side) {
        Basis bx = basis(x, side), by = basis(y, side);
        return new SubspaceSimilarity(x.module(), side, phi(bx.vectors(), by.vectors()), bx.rank(), by.rank());
    }

    /**
     * φ for each module of {@code modules} (null: all), after checking both adapters adapt the same modules
     * with the same shapes.
     *
     * @throws Lora4jException naming the modules only one adapter has, or the shapes that differ
     */
    public static List<SubspaceSimilarity> compare(LoraAdapter x, LoraAdapter y, Subspace side, List<String> modules) {
        List<String> list = checkSameModules(x, y, modules);
        List<SubspaceSimilarity> out = new ArrayList<>();
        for (String m : list) out.add(of(x.factors(m), y.factors(m), side));
        return out;
    }

    /** The modules to compare: {@code modules}, or all when null; each must be in both adapters with one shape. */
    public static List<String> checkSameModules(LoraAdapter x, LoraAdapter y, List<String> modules) {
        Set<String> inX = new LinkedHashSet<>(x.modules()), inY = new LinkedHashSet<>(y.modules());
        List<String> wanted = modules == null ? x.modules() : modules;
        List<String> onlyX = new ArrayList<>(), onlyY = new ArrayList<>();
        for (String m : modules == null ? inX : wanted) if (!inY.contains(m)) onlyX.add(m);
        for (String m : modules == null ? inY : wanted) if (!inX.contains(m)) onlyY.add(m);
        if (!onlyX.isEmpty() || !onlyY.isEmpty()) {
            StringBuilder sb = new StringBuilder("the two adapters do not adapt the same modules:");
            if (!onlyX.isEmpty()) sb.append(" only in ").append(x.dir()).append(": ").append(String.join(", ", onlyX)).append(';');
            if (!onlyY.isEmpty()) sb.append(" only in ").append(y.dir()).append(": ").append(String.join(", ", onlyY)).append(';');
            sb.setLength(sb.length() - 1);
            throw new Lora4jException(sb.toString());
        }
        for (String m : wanted) {
            LoraAdapter.Entry a = x.entry(m), b = y.entry(m);
            if (a.in() != b.in() || a.out() != b.out()) {
                throw new Lora4jException("module " + m + " is " + a.out() + "x" + a.in() + " (out x in) in " + x.dir()
                        + " but " + b.out() + "x" + b.in() + " in " + y.dir() + ": not the same base model");
            }
        }
        return wanted;
    }
}
