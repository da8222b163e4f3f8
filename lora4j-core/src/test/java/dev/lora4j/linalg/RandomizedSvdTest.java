// Checks the randomized SVD (torch.svd_lowrank's algorithm, PiSSA's "pissa_niter_K") against the full one-sided Jacobi
// SVD on matrices with a known spectrum and a clear gap after the top r values: the values, the top-r subspaces (as
// projectors, which do not depend on the signs of singular vectors) and the fixed-seed reproducibility a resume needs.
package dev.lora4j.linalg;

import static dev.lora4j.linalg.SvdTest.assertOrthonormalColumns;
import static dev.lora4j.linalg.SvdTest.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RandomizedSvdTest {
    private static final double[] TOP = {9, 7, 5, 4};        // then a tail of 0.05 … 0.01: a gap of 80×

    @Test
    void matchesTheFullSvdOnAMatrixWithASpectralGap() {
        for (int[] size : new int[][] {{40, 17}, {17, 40}}) {
            double[][] m = withSpectrum(new Random(3), size[0], size[1]);
            Svd full = Svd.jacobi(m);
            Svd fast = RandomizedSvd.lowRank(m, TOP.length, 2, new SplittableRandom(7));
            assertEquals(size[0], fast.u().length);
            assertEquals(size[1], fast.v().length);
            for (int k = 0; k < TOP.length; k++) {
                assertEquals(full.s()[k], fast.s()[k], 1e-6 * full.s()[0], "singular value " + k);
                assertEquals(TOP[k], fast.s()[k], 1e-2, "singular value " + k + " of the known spectrum");
            }
            assertOrthonormalColumns(fast.u());
            assertOrthonormalColumns(fast.v());
            assertTrue(projectorDistance(full.u(), fast.u(), TOP.length) < 1e-6, "left subspace");
            assertTrue(projectorDistance(full.v(), fast.v(), TOP.length) < 1e-6, "right subspace");
        }
    }

    @Test
    void withoutIterationsTheSubspaceIsRougherButTheValuesStillOrdered() {
        double[][] m = withSpectrum(new Random(4), 30, 20);
        Svd full = Svd.jacobi(m);
        Svd rough = RandomizedSvd.lowRank(m, TOP.length, 0, new SplittableRandom(1));
        Svd fine = RandomizedSvd.lowRank(m, TOP.length, 4, new SplittableRandom(1));
        double dRough = projectorDistance(full.u(), rough.u(), TOP.length), dFine = projectorDistance(full.u(), fine.u(), TOP.length);
        assertTrue(dFine < dRough && dFine < 1e-9, "more subspace iterations converge: " + dRough + " vs " + dFine);
        for (int k = 1; k < TOP.length; k++) assertTrue(rough.s()[k] <= rough.s()[k - 1]);
    }

    @Test
    void theSeedFixesTheResult() {
        double[][] m = gaussian(new Random(5), 12, 9);
        Svd a = RandomizedSvd.lowRank(m, 3, 1, new SplittableRandom(11)), b = RandomizedSvd.lowRank(m, 3, 1, new SplittableRandom(11));
        assertArrayEquals(a.s(), b.s(), 0);
        for (int i = 0; i < 12; i++) assertArrayEquals(a.u()[i], b.u()[i], 0);
        assertThrows(IllegalArgumentException.class, () -> RandomizedSvd.lowRank(m, 10, 1, new SplittableRandom(1)));
    }

    /** U·diag(TOP, tail)·Vᵀ with random orthonormal U (rows×p) and V (cols×p), p = min(rows, cols). */
    static double[][] withSpectrum(Random rnd, int rows, int cols) {
        int p = Math.min(rows, cols);
        double[][] u = Svd.qr(gaussian(rnd, rows, p)).q(), v = Svd.qr(gaussian(rnd, cols, p)).q();
        double[][] us = new double[rows][p];
        for (int k = 0; k < p; k++) {
            double s = k < TOP.length ? TOP[k] : 0.05 - 0.04 * (k - TOP.length) / Math.max(1, p - TOP.length - 1);
            for (int i = 0; i < rows; i++) us[i][k] = u[i][k] * s;
        }
        return Svd.multiply(us, Svd.transpose(v));
    }

    /** max |P1 − P2| of the projectors onto the first r columns of x and y: zero when they span the same subspace. */
    private static double projectorDistance(double[][] x, double[][] y, int r) {
        int n = x.length;
        double worst = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double px = 0, py = 0;
                for (int k = 0; k < r; k++) {
                    px += x[i][k] * x[j][k];
                    py += y[i][k] * y[j][k];
                }
                worst = Math.max(worst, Math.abs(px - py));
            }
        }
        return worst;
    }
}
