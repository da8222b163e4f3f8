// Checks the SVDs behind the rank analysis of Hu et al. 2021 (LoRA) §7 against independent references:
// hand-computed decompositions, reconstruction of the explicitly formed ΔW, orthonormality, and one-sided Jacobi
// on the explicit ΔW (a different algorithm path than QR of the factors + Jacobi on the core).
package dev.lora4j.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

public class SvdTest {

    @Test
    void handComputedTwoByTwo() {
        // MᵀM = [[25, 20], [20, 25]]: eigenvalues 45 and 5, eigenvectors (1, 1)/√2 and (1, −1)/√2.
        Svd svd = Svd.jacobi(new double[][] {{3, 0}, {4, 5}});
        assertArrayEquals(new double[] {3 * Math.sqrt(5), Math.sqrt(5)}, svd.s(), 1e-14);
        assertParallel(new double[] {1, 1}, column(svd.v(), 0));
        assertParallel(new double[] {1, -1}, column(svd.v(), 1));
        assertParallel(new double[] {1, 3}, column(svd.u(), 0));      // M·(1, 1) = (3, 9)
        assertParallel(new double[] {3, -1}, column(svd.u(), 1));     // M·(1, −1) = (3, −1)
    }

    @Test
    void handComputedRankOneProduct() {
        // ΔW = 0.5·b·aᵀ with |b| = 3, |a| = 5: one singular value 7.5, u = b/3, v = a/5.
        double[][] b = {{1}, {2}, {2}}, a = {{3, 4}};
        Svd svd = Svd.ofProduct(b, a, 0.5);
        assertArrayEquals(new double[] {7.5}, svd.s(), 1e-14);
        assertParallel(new double[] {1, 2, 2}, column(svd.u(), 0));
        assertParallel(new double[] {3, 4}, column(svd.v(), 0));
    }

    @Test
    void productReconstructsDeltaWWithOrthonormalFactors() {
        Random rnd = new Random(1);
        double[][] b = gaussian(rnd, 50, 6), a = gaussian(rnd, 6, 30);
        Svd svd = Svd.ofProduct(b, a, 2.0);
        double[][] dw = explicit(b, a, 2.0);
        assertEquals(6, svd.s().length);
        assertTrue(maxAbsDiff(reconstruct(svd), dw) < 1e-12 * maxAbs(dw), "U·S·Vᵀ = ΔW");
        assertOrthonormalColumns(svd.u());
        assertOrthonormalColumns(svd.v());
        for (int k = 1; k < svd.s().length; k++) assertTrue(svd.s()[k - 1] >= svd.s()[k], "descending");
    }

    @Test
    void productAgreesWithJacobiOnTheExplicitMatrix() {
        Random rnd = new Random(2);
        for (int[] dims : new int[][] {{40, 8, 24}, {12, 16, 30}, {20, 5, 3}, {7, 7, 7}}) {
            int m = dims[0], r = dims[1], n = dims[2];
            double[][] b = gaussian(rnd, m, r), a = gaussian(rnd, r, n);
            Svd fast = Svd.ofProduct(b, a, 0.25), brute = Svd.jacobi(explicit(b, a, 0.25));
            int p = Math.min(r, Math.min(m, n));
            assertEquals(p, fast.s().length);
            double frob2 = 0;
            for (double[] row : explicit(b, a, 0.25)) for (double x : row) frob2 += x * x;
            double sum2 = 0;
            for (int k = 0; k < p; k++) {
                assertEquals(brute.s()[k], fast.s()[k], 1e-12 * brute.s()[0], "σ_" + k + " for " + m + "x" + r + "x" + n);
                assertEquals(1, Math.abs(dot(column(fast.u(), k), column(brute.u(), k))), 1e-9, "u_" + k);
                assertEquals(1, Math.abs(dot(column(fast.v(), k), column(brute.v(), k))), 1e-9, "v_" + k);
                sum2 += fast.s()[k] * fast.s()[k];
            }
            for (int k = p; k < brute.s().length; k++) assertEquals(0, brute.s()[k], 1e-12 * brute.s()[0], "zero beyond r");
            assertEquals(frob2, sum2, 1e-12 * frob2, "Σσ² = ‖ΔW‖²_F");
        }
    }

    @Test
    void rankDeficientAndZeroUpdatesKeepOrthonormalBases() {
        Random rnd = new Random(3);
        double[][] b = gaussian(rnd, 30, 4), a = gaussian(rnd, 4, 20);
        for (double[] row : b) row[3] = row[2];                     // rank(B) = 3
        for (int j = 0; j < 20; j++) a[3][j] = a[2][j];            // and A: ΔW = b0·a0 + b1·a1 + 2·b2·a2, rank 3
        Svd svd = Svd.ofProduct(b, a, 1);
        assertTrue(svd.s()[3] < 1e-12 * svd.s()[0], "fourth singular value vanishes");
        assertTrue(maxAbsDiff(reconstruct(svd), explicit(b, a, 1)) < 1e-12 * maxAbs(explicit(b, a, 1)));
        assertOrthonormalColumns(svd.u());
        assertOrthonormalColumns(svd.v());

        Svd zero = Svd.ofProduct(new double[9][4], gaussian(rnd, 4, 6), 2);   // B = 0, as PEFT initializes it
        assertArrayEquals(new double[4], zero.s(), 0);
        assertOrthonormalColumns(zero.u());
        assertOrthonormalColumns(zero.v());
    }

    @Test
    void jacobiOnWideAndTallMatrices() {
        Random rnd = new Random(4);
        double[][] tallRank2 = explicit(gaussian(rnd, 30, 2), gaussian(rnd, 2, 6), 1);   // through QR first, four zero values
        for (double[][] m : new double[][][] {gaussian(rnd, 5, 17), gaussian(rnd, 17, 5), gaussian(rnd, 1, 4), tallRank2, gaussian(rnd, 9, 8)}) {
            Svd svd = Svd.jacobi(m);
            assertEquals(Math.min(m.length, m[0].length), svd.s().length);
            for (int k = 1; k < svd.s().length; k++) assertTrue(svd.s()[k] <= svd.s()[k - 1], "descending");
            assertTrue(maxAbsDiff(reconstruct(svd), m) < 1e-13 * maxAbs(m));
            assertOrthonormalColumns(svd.u());
            assertOrthonormalColumns(svd.v());
        }
    }

    @Test
    void householderQr() {
        double[][] x = gaussian(new Random(5), 9, 4);
        Svd.Qr qr = Svd.qr(x);
        assertOrthonormalColumns(qr.q());
        for (int i = 0; i < 4; i++) for (int j = 0; j < i; j++) assertEquals(0, qr.r()[i][j], 0, "R upper triangular");
        assertTrue(maxAbsDiff(Svd.multiply(qr.q(), qr.r()), x) < 1e-14 * maxAbs(x));
    }

    // --- helpers, also used by the other analysis tests

    public static double[][] gaussian(Random rnd, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) for (int j = 0; j < cols; j++) row[j] = rnd.nextGaussian();
        return m;
    }

    /** scale·B·A formed entry by entry. */
    public static double[][] explicit(double[][] b, double[][] a, double scale) {
        double[][] w = new double[b.length][a[0].length];
        for (int i = 0; i < b.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                double s = 0;
                for (int k = 0; k < a.length; k++) s += b[i][k] * a[k][j];
                w[i][j] = scale * s;
            }
        }
        return w;
    }

    static double[] column(double[][] m, int j) {
        double[] c = new double[m.length];
        for (int i = 0; i < m.length; i++) c[i] = m[i][j];
        return c;
    }

    static double dot(double[] x, double[] y) {
        double d = 0;
        for (int i = 0; i < x.length; i++) d += x[i] * y[i];
        return d;
    }

    public static void assertOrthonormalColumns(double[][] q) {
        int p = q[0].length;
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                assertEquals(i == j ? 1 : 0, dot(column(q, i), column(q, j)), 1e-12, "QᵀQ[" + i + "][" + j + "]");
            }
        }
    }

    private static void assertParallel(double[] expected, double[] unit) {
        double norm = Math.sqrt(dot(expected, expected));
        assertEquals(1, Math.abs(dot(expected, unit)) / norm, 1e-14, "unit vector along the expected direction");
        assertEquals(1, dot(unit, unit), 1e-14);
    }

    private static double[][] reconstruct(Svd svd) {
        int m = svd.u().length, n = svd.v().length, p = svd.s().length;
        double[][] w = new double[m][n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) for (int k = 0; k < p; k++) w[i][j] += svd.u()[i][k] * svd.s()[k] * svd.v()[j][k];
        return w;
    }

    private static double maxAbsDiff(double[][] x, double[][] y) {
        double d = 0;
        for (int i = 0; i < x.length; i++) for (int j = 0; j < x[0].length; j++) d = Math.max(d, Math.abs(x[i][j] - y[i][j]));
        return d;
    }

    private static double maxAbs(double[][] x) {
        double d = 0;
        for (double[] row : x) for (double v : row) d = Math.max(d, Math.abs(v));
        return d;
    }
}
