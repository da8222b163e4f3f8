// Thin singular value decompositions in double precision: one-sided (Hestenes) Jacobi for a small dense matrix
// (Hestenes 1958; Demmel & Veselić 1992; Golub & Van Loan, Matrix Computations, 4th ed., §8.6.4), Householder QR
// (same book, §5.2), and the SVD of a low-rank product scale·B·A computed from its factors without forming it (the rank
// analysis of Hu et al. 2021, LoRA, arXiv 2106.09685, §7). PiSSA's initialisation (lora) decomposes base weights with it.
//
//   B = Q_B·R_B (m×k1, k1×r),  Aᵀ = Q_A·R_A (n×k2, k2×r),  k1 = min(m, r), k2 = min(n, r), so
//   scale·B·A = Q_B·(scale·R_B·R_Aᵀ)·Q_Aᵀ = Q_B·C·Q_Aᵀ.  With C = U_c·Σ·V_cᵀ (k1×k2, Jacobi):
//   scale·B·A = (Q_B·U_c)·Σ·(Q_A·V_c)ᵀ, and Q_B·U_c, Q_A·V_c have orthonormal columns (orthonormal times
//   orthogonal), so this is the thin SVD of ΔW: p = min(m, n, r) singular values, every other one is zero.
//
// Cost O((m + n)·r² + r³) instead of O(m·n·r) to form ΔW and O(m·n·min(m, n)) to decompose it.
package dev.lora4j.linalg;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * M = U·diag(s)·Vᵀ: {@code u} is m×p and {@code v} n×p (row-major, orthonormal columns), {@code s} the p =
 * min(m, n) singular values in descending order. Singular vectors of zero singular values are an arbitrary
 * orthonormal completion (standard basis vectors projected out of the others), as in any SVD.
 */
public record Svd(double[][] u, double[] s, double[][] v) {
    private static final double TOL = 1e-15;
    private static final int MAX_SWEEPS = 80;

    /**
     * Thin SVD of the dense m×n matrix {@code m} (not modified) by one-sided Jacobi. A matrix at least twice as tall as
     * wide is first reduced by QR (m = Q·R, R n×n; then U = Q·U_R), the preconditioning of Drmač &amp; Veselić 2008, so
     * the rotations work on vectors of length n instead of m.
     */
    public static Svd jacobi(double[][] m) {
        int rows = m.length, cols = rows == 0 ? 0 : m[0].length;
        if (rows < cols) {
            Svd t = jacobi(transpose(m));
            return new Svd(t.v, t.s, t.u);
        }
        if (cols > 0 && rows >= 2 * cols) {
            Qr qr = qr(m);
            Svd r = jacobi(qr.r);                                  // n×n
            return new Svd(multiply(qr.q, r.u), r.s, r.v);
        }
        // Work on columns: w[j] is column j of the matrix, vc[j] column j of V; rotate pairs until orthogonal.
        // The squared column norms are computed once a sweep and then updated with each rotation (‖w_p‖² − t·γ,
        // ‖w_q‖² + t·γ, exact since t solves t² + 2ζt − 1 = 0), so a pair costs one dot product instead of three.
        double[][] w = transpose(m), vc = identity(cols);
        double[] norm2 = new double[cols];
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            boolean rotated = false;
            for (int j = 0; j < cols; j++) norm2[j] = dot(w[j], w[j]);
            for (int p = 0; p < cols - 1; p++) {
                for (int q = p + 1; q < cols; q++) {
                    double alpha = norm2[p], beta = norm2[q], gamma = dot(w[p], w[q]);
                    if (gamma == 0 || Math.abs(gamma) <= TOL * Math.sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) t = 1;
                    double c = 1 / Math.sqrt(1 + t * t), sn = c * t;
                    rotate(w[p], w[q], c, sn);
                    rotate(vc[p], vc[q], c, sn);
                    norm2[p] = alpha - t * gamma;
                    norm2[q] = beta + t * gamma;
                }
            }
            if (!rotated) break;
        }
        double[] s = new double[cols];
        for (int j = 0; j < cols; j++) s[j] = Math.sqrt(dot(w[j], w[j]));
        Integer[] order = IntStream.range(0, cols).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer j) -> -s[j]));
        double[] sorted = new double[cols];
        double[][] uc = new double[cols][], vs = new double[cols][];
        for (int k = 0; k < cols; k++) {
            int j = order[k];
            sorted[k] = s[j];
            vs[k] = vc[j];
            uc[k] = w[j];
            if (s[j] > 0) for (int i = 0; i < rows; i++) uc[k][i] /= s[j];
        }
        for (int k = 0; k < cols; k++) if (sorted[k] == 0) uc[k] = completion(uc, k, rows);
        return new Svd(transpose(uc), sorted, transpose(vs));
    }

    /**
     * Thin SVD of {@code scale·b·a} (b m×r, a r×n) from the factors, as derived in the header: p = min(m, n, r)
     * singular values; the ones ΔW has beyond them are zero.
     */
    public static Svd ofProduct(double[][] b, double[][] a, double scale) {
        int r = a.length;
        if (b.length == 0 || r == 0 || b[0].length != r) {
            throw new IllegalArgumentException("B is " + b.length + "×" + (b.length == 0 ? 0 : b[0].length) + ", A is " + r + "×…: inner sizes differ");
        }
        Qr qb = qr(b), qa = qr(transpose(a));
        double[][] core = multiply(qb.r, transpose(qa.r));          // k1×k2 = R_B·R_Aᵀ
        for (double[] row : core) for (int j = 0; j < row.length; j++) row[j] *= scale;
        Svd c = jacobi(core);
        return new Svd(multiply(qb.q, c.u), c.s, multiply(qa.q, c.v));
    }

    /** Thin QR: q (m×k) with orthonormal columns, r (k×n) upper trapezoidal, k = min(m, n). */
    record Qr(double[][] q, double[][] r) {}

    /** Householder QR of the m×n matrix {@code x} (not modified); rank-deficient input is fine. */
    static Qr qr(double[][] x) {
        int m = x.length, n = x[0].length, k = Math.min(m, n);
        double[][] a = copy(x), vs = new double[k][];
        for (int j = 0; j < k; j++) {
            double norm = 0;
            for (int i = j; i < m; i++) norm += a[i][j] * a[i][j];
            norm = Math.sqrt(norm);
            double[] v = new double[m];
            if (norm > 0) {
                double alpha = a[j][j] >= 0 ? -norm : norm;       // reflect x onto alpha·e_j, no cancellation
                for (int i = j; i < m; i++) v[i] = a[i][j];
                v[j] -= alpha;
                double vn = Math.sqrt(dot(v, v));
                for (int i = j; i < m; i++) v[i] /= vn;
                reflect(a, v, j);
            }
            vs[j] = v;                                             // v = 0: H_j = I
        }
        double[][] r = new double[k][n];
        for (int i = 0; i < k; i++) for (int j = i; j < n; j++) r[i][j] = a[i][j];
        double[][] q = new double[m][k];
        for (int i = 0; i < k; i++) q[i][i] = 1;
        for (int j = k - 1; j >= 0; j--) reflect(q, vs[j], j);    // Q = H_0·H_1·…·H_{k-1}·I[:, :k]
        return new Qr(q, r);
    }

    /**
     * a ← (I − 2·v·vᵀ)·a on rows and columns from {@code from} on: v is zero above row {@code from}, and the
     * columns before it are already zero there (R) or untouched unit vectors (Q), so they would not change.
     */
    private static void reflect(double[][] a, double[] v, int from) {
        int cols = a[0].length;
        double[] d = new double[cols];                             // d = vᵀ·a, row by row (row-major friendly)
        for (int i = from; i < a.length; i++) {
            double vi = v[i];
            if (vi == 0) continue;
            double[] ai = a[i];
            for (int j = from; j < cols; j++) d[j] += vi * ai[j];
        }
        for (int i = from; i < a.length; i++) {
            double vi = 2 * v[i];
            if (vi == 0) continue;
            double[] ai = a[i];
            for (int j = from; j < cols; j++) ai[j] -= vi * d[j];
        }
    }

    /** A unit vector orthogonal to columns cols[0..n) except {@code skip}: the best standard basis vector, projected twice. */
    private static double[] completion(double[][] cols, int skip, int dim) {
        double[] best = null;
        double bestNorm = -1;
        for (int e = 0; e < dim && bestNorm < 0.5; e++) {
            double[] x = new double[dim];
            x[e] = 1;
            for (int pass = 0; pass < 2; pass++) {
                for (int k = 0; k < cols.length; k++) {
                    if (k == skip || cols[k] == null) continue;
                    double d = dot(x, cols[k]);
                    for (int i = 0; i < dim; i++) x[i] -= d * cols[k][i];
                }
            }
            double norm = Math.sqrt(dot(x, x));
            if (norm > bestNorm) {
                bestNorm = norm;
                best = x;
            }
        }
        for (int i = 0; i < dim; i++) best[i] /= bestNorm;
        return best;
    }

    private static void rotate(double[] x, double[] y, double c, double s) {
        for (int i = 0; i < x.length; i++) {
            double xi = x[i], yi = y[i];
            x[i] = c * xi - s * yi;
            y[i] = s * xi + c * yi;
        }
    }

    static double dot(double[] x, double[] y) {
        double d = 0;
        for (int i = 0; i < x.length; i++) d += x[i] * y[i];
        return d;
    }

    /** Row-major product of x (m×k) and y (k×n). */
    public static double[][] multiply(double[][] x, double[][] y) {
        int m = x.length, k = y.length, n = k == 0 ? 0 : y[0].length;
        double[][] out = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int l = 0; l < k; l++) {
                double xil = x[i][l];
                if (xil == 0) continue;
                double[] yl = y[l], oi = out[i];
                for (int j = 0; j < n; j++) oi[j] += xil * yl[j];
            }
        }
        return out;
    }

    public static double[][] transpose(double[][] x) {
        int m = x.length, n = m == 0 ? 0 : x[0].length;
        double[][] t = new double[n][m];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) t[j][i] = x[i][j];
        return t;
    }

    public static double[][] identity(int n) {
        double[][] id = new double[n][n];
        for (int i = 0; i < n; i++) id[i][i] = 1;
        return id;
    }

    private static double[][] copy(double[][] x) {
        double[][] c = new double[x.length][];
        for (int i = 0; i < x.length; i++) c[i] = x[i].clone();
        return c;
    }
}
