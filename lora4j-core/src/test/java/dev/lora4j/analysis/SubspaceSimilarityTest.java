// Checks the normalized subspace similarity φ of Hu et al. 2021 (LoRA) §7.2, Eq. 4, against independent
// references: hand-computed angles, identical and orthogonal subspaces, and a brute-force φ from explicitly
// formed matrices decomposed by one-sided Jacobi, with ‖U1^{i⊤}U2^{j}‖²_F summed entry by entry for each (i, j).
package dev.lora4j.analysis;

import static dev.lora4j.linalg.SvdTest.explicit;
import static dev.lora4j.linalg.SvdTest.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.analysis.SubspaceSimilarity.Subspace;
import dev.lora4j.linalg.Svd;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubspaceSimilarityTest {
    @TempDir
    Path tmp;

    @Test
    void handComputedAngles() {
        double h = Math.sqrt(0.5);
        double[][] u1 = {{1, 0}, {0, 1}, {0, 0}};                   // span{e0, e1}
        double[][] u2 = {{h}, {0}, {h}};                            // (e0 + e2)/√2: 45° to e0, orthogonal to e1
        double[][] phi = SubspaceSimilarity.phi(u1, u2);
        assertEquals(0.5, phi[0][0], 1e-15);                        // cos² 45°
        assertEquals(0.5, phi[1][0], 1e-15);                        // min(2, 1) = 1: same 0.5
        double[][] u3 = {{h, h}, {h, -h}, {0, 0}};                  // the same plane as u1, rotated
        double[][] same = SubspaceSimilarity.phi(u1, u3);
        assertEquals(0.5, same[0][0], 1e-15);
        assertEquals(1.0, same[0][1], 1e-15);                       // (h² + h²) / 1: e0 lies in span(u3)
        assertEquals(1.0, same[1][0], 1e-15);                       // and u3's first column in span(u1)
        assertEquals(1.0, same[1][1], 1e-15);                       // the planes coincide
    }

    @Test
    void adapterWithItselfIsOneOnEverySide() {
        Random rnd = new Random(11);
        LoraAdapter.Factors f = new LoraAdapter.Factors("m", gaussian(rnd, 6, 20), gaussian(rnd, 24, 6), 2);
        for (Subspace side : Subspace.values()) {
            SubspaceSimilarity s = SubspaceSimilarity.of(f, f, side);
            assertEquals(6, s.phi().length);
            for (int i = 0; i < 6; i++) {
                assertEquals(1, s.phi()[i][i], 1e-12, side + " diagonal i = j = " + (i + 1));
                for (int j = 0; j < 6; j++) assertEquals(1, s.phi()[i][j], 1e-12, "nested subspaces: φ = 1 everywhere");
            }
            assertEquals(6, s.rank1());
        }
    }

    @Test
    void orthogonalSubspacesGiveZero() {
        int r = 4, n = 16, m = 12;
        double[][] a1 = new double[r][n], a2 = new double[r][n], b1 = new double[m][r], b2 = new double[m][r];
        Random rnd = new Random(12);
        for (int k = 0; k < r; k++) {
            for (int j = 0; j < 8; j++) a1[k][j] = rnd.nextGaussian();        // rows in span{e0..e7}
            for (int j = 8; j < n; j++) a2[k][j] = rnd.nextGaussian();        // rows in span{e8..e15}
            for (int i = 0; i < 6; i++) b1[i][k] = rnd.nextGaussian();        // columns in span{e0..e5}
            for (int i = 6; i < m; i++) b2[i][k] = rnd.nextGaussian();        // columns in span{e6..e11}
        }
        var x = new LoraAdapter.Factors("m", a1, b1, 1);
        var y = new LoraAdapter.Factors("m", a2, b2, 1);
        for (Subspace side : Subspace.values()) {
            double[][] phi = SubspaceSimilarity.of(x, y, side).phi();
            for (double[] row : phi) for (double v : row) assertEquals(0, v, 1e-13, side.toString());
        }
    }

    @Test
    void randomCaseMatchesBruteForce() {
        Random rnd = new Random(13);
        int m = 18, n = 14;
        var x = new LoraAdapter.Factors("m", gaussian(rnd, 3, n), gaussian(rnd, m, 3), 8.0 / 3);
        var y = new LoraAdapter.Factors("m", gaussian(rnd, 7, n), gaussian(rnd, m, 7), 16.0 / 7);
        // explicit matrices, decomposed by Jacobi alone: A (input space), B (output space), ΔW (both)
        Svd ax = Svd.jacobi(x.a()), ay = Svd.jacobi(y.a()), bx = Svd.jacobi(x.b()), by = Svd.jacobi(y.b());
        Svd wx = Svd.jacobi(explicit(x.b(), x.a(), x.scale())), wy = Svd.jacobi(explicit(y.b(), y.a(), y.scale()));
        Map<Subspace, double[][][]> refs = Map.of(
                Subspace.A, new double[][][] {ax.v(), ay.v()}, Subspace.B, new double[][][] {bx.u(), by.u()},
                Subspace.INPUT, new double[][][] {wx.v(), wy.v()}, Subspace.OUTPUT, new double[][][] {wx.u(), wy.u()});
        for (Subspace side : Subspace.values()) {
            double[][][] ref = refs.get(side);
            double[][] phi = SubspaceSimilarity.of(x, y, side).phi();
            assertEquals(3, phi.length);
            assertEquals(7, phi[0].length);
            for (int i = 1; i <= 3; i++) {
                for (int j = 1; j <= 7; j++) {
                    double brute = bruteForcePhi(ref[0], ref[1], i, j);
                    assertEquals(brute, phi[i - 1][j - 1], 1e-9, side + " φ(" + i + ", " + j + ")");
                    assertTrue(phi[i - 1][j - 1] >= 0 && phi[i - 1][j - 1] <= 1 + 1e-12);
                }
            }
        }
    }

    @Test
    void modulesThatDoNotMatchAreNamed() {
        Random rnd = new Random(14);
        Path x = TestAdapters.write(tmp.resolve("x"), 2, 4, Map.of(
                "transformer.h.0.attn.c_attn", TestAdapters.random(rnd, 2, 8, 24),
                "transformer.h.1.attn.c_attn", TestAdapters.random(rnd, 2, 8, 24)));
        Path y = TestAdapters.write(tmp.resolve("y"), 2, 4, Map.of(
                "transformer.h.0.attn.c_attn", TestAdapters.random(rnd, 2, 8, 24),
                "transformer.h.0.mlp.c_fc", TestAdapters.random(rnd, 2, 8, 32)));
        Path z = TestAdapters.write(tmp.resolve("z"), 2, 4, Map.of(
                "transformer.h.0.attn.c_attn", TestAdapters.random(rnd, 2, 16, 48)));
        try (LoraAdapter ax = LoraAdapter.open(x); LoraAdapter ay = LoraAdapter.open(y); LoraAdapter az = LoraAdapter.open(z)) {
            var e = assertThrows(Lora4jException.class, () -> SubspaceSimilarity.compare(ax, ay, Subspace.A, null));
            assertTrue(e.getMessage().contains("only in " + x + ": transformer.h.1.attn.c_attn")
                    && e.getMessage().contains("only in " + y + ": transformer.h.0.mlp.c_fc"), e.getMessage());
            List<SubspaceSimilarity> one = SubspaceSimilarity.compare(ax, ay, Subspace.A, List.of("transformer.h.0.attn.c_attn"));
            assertEquals(1, one.size(), "a module both have can be compared on its own");
            var shape = assertThrows(Lora4jException.class, () -> SubspaceSimilarity.compare(ax, az, Subspace.A, List.of("transformer.h.0.attn.c_attn")));
            assertTrue(shape.getMessage().contains("24x8") && shape.getMessage().contains("48x16"), shape.getMessage());
        }
    }

    /** ‖U1^{i⊤}U2^{j}‖²_F / min(i, j), every entry summed separately. */
    private static double bruteForcePhi(double[][] u1, double[][] u2, int i, int j) {
        double sum = 0;
        for (int a = 0; a < i; a++) {
            for (int b = 0; b < j; b++) {
                double d = 0;
                for (int k = 0; k < u1.length; k++) d += u1[k][a] * u2[k][b];
                sum += d * d;
            }
        }
        return sum / Math.min(i, j);
    }
}
