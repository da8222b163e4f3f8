// The top-q singular triplets of a dense matrix by randomized subspace iteration, as torch.svd_lowrank computes them
// (Halko, Martinsson & Tropp 2011, arXiv 0909.4061, Algorithm 4.4): a Gaussian test matrix, niter rounds of
// re-orthonormalized power iteration, then the exact SVD of the small projection. PEFT's "pissa_niter_K" calls it with
// q = r and niter = K (no oversampling), so this does the same.
package dev.lora4j.linalg;

import java.util.SplittableRandom;

/** Randomized truncated SVD; the random numbers come from the caller's generator, so a seed fixes the result. */
public final class RandomizedSvd {
    private RandomizedSvd() {}

    /**
     * M ≈ U·diag(s)·Vᵀ with q triplets (q ≤ min(m, n)): u is m×q, v n×q, s descending. {@code m} (m×n) is not modified.
     * Works on Mᵀ when m &lt; n, as torch.svd_lowrank does, so the test matrix is always the thin one.
     */
    public static Svd lowRank(double[][] m, int q, int niter, SplittableRandom rnd) {
        int rows = m.length, cols = rows == 0 ? 0 : m[0].length;
        if (q <= 0 || q > Math.min(rows, cols)) throw new IllegalArgumentException("q = " + q + " for a " + rows + "×" + cols + " matrix");
        if (niter < 0) throw new IllegalArgumentException("niter = " + niter);
        if (rows < cols) {
            Svd t = lowRank(Svd.transpose(m), q, niter, rnd);
            return new Svd(t.v(), t.s(), t.u());
        }
        double[][] mt = Svd.transpose(m);                            // n×m
        double[][] q0 = basis(m, mt, q, niter, rnd);                 // m×q, orthonormal columns spanning ≈ M's top range
        Svd small = Svd.jacobi(Svd.multiply(Svd.transpose(q0), m));  // (q×m)·(m×n) = q×n
        return new Svd(Svd.multiply(q0, small.u()), small.s(), small.v());
    }

    /** torch's get_approximate_basis: Q = orth(M·G), then niter times Q = orth(M·orth(Mᵀ·Q)); G n×q standard normal. */
    private static double[][] basis(double[][] m, double[][] mt, int q, int niter, SplittableRandom rnd) {
        int n = mt.length;
        double[][] g = new double[n][q];
        for (double[] row : g) for (int j = 0; j < q; j++) row[j] = rnd.nextGaussian();
        double[][] basis = Svd.qr(Svd.multiply(m, g)).q();
        for (int i = 0; i < niter; i++) {
            double[][] z = Svd.qr(Svd.multiply(mt, basis)).q();     // n×q
            basis = Svd.qr(Svd.multiply(m, z)).q();                 // m×q
        }
        return basis;
    }
}
