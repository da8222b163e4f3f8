// Checks the per-module spectrum of ΔW = scale·B·A (Hu et al. 2021, LoRA, §7) and the effective ranks
// (numerical; Roy & Vetterli 2007 entropy) against hand-computed values and explicitly formed matrices, and
// reading adapters: PEFT scale and key layout, natural module order, and bad input named by file and key.
package dev.lora4j.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.linalg.SvdTest;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterSpectrumTest {
    @TempDir
    Path tmp;

    @Test
    void effectiveRanksByHand() {
        assertEquals(2, AdapterSpectrum.numericalRank(new double[] {2, 2, 0, 0}, 1e-6));
        assertEquals(2, AdapterSpectrum.entropyRank(new double[] {2, 2, 0, 0}), 1e-15);
        assertEquals(1, AdapterSpectrum.numericalRank(new double[] {1, 1e-8}, 1e-6));
        assertEquals(2, AdapterSpectrum.numericalRank(new double[] {1, 2e-6}, 1e-6));
        // p = (3/4, 1/4): exp(−(0.75 ln 0.75 + 0.25 ln 0.25)), computed separately
        assertEquals(1.7547653506033232, AdapterSpectrum.entropyRank(new double[] {3, 1}), 1e-15);
        assertEquals(0, AdapterSpectrum.numericalRank(new double[4], 1e-6));
        assertEquals(0, AdapterSpectrum.entropyRank(new double[4]));
    }

    @Test
    void knownSpectrumFromDiagonalFactors() {
        // A = first 4 rows of I (4×10), B = diag(3, 2, 1, 0) on top of zeros (12×4), scale 0.5: σ = 1.5, 1, 0.5, 0.
        double[][] a = new double[4][10], b = new double[12][4];
        for (int k = 0; k < 4; k++) {
            a[k][k] = 1;
            b[k][k] = 3 - k;
        }
        var s = AdapterSpectrum.of(new LoraAdapter.Factors("m", a, b, 0.5));
        assertArrayEquals(new double[] {1.5, 1, 0.5, 0}, s.singularValues(), 1e-15);
        assertEquals(Math.sqrt(1.5 * 1.5 + 1 + 0.25), s.frobenius(), 1e-15);
        assertEquals(3, s.numericalRank());
        assertEquals(Math.exp(-(0.5 * Math.log(0.5) + 1 / 3.0 * Math.log(1 / 3.0) + 1 / 6.0 * Math.log(1 / 6.0))), s.entropyRank(), 1e-14);
        assertEquals((2.25 + 1) / 3.5, s.energy(2), 1e-15);
        assertEquals(12, s.out());
        assertEquals(10, s.in());
    }

    @Test
    void readsPeftAdapterWithItsScaleAndOrder() {
        Random rnd = new Random(21);
        Map<String, double[][][]> modules = new LinkedHashMap<>();
        for (int layer : new int[] {10, 2, 1}) modules.put("transformer.h." + layer + ".attn.c_attn", TestAdapters.random(rnd, 4, 8, 24));
        Path dir = TestAdapters.write(tmp.resolve("a"), 4, 8, modules);
        try (LoraAdapter adapter = LoraAdapter.open(dir)) {
            assertEquals(List.of("transformer.h.1.attn.c_attn", "transformer.h.2.attn.c_attn", "transformer.h.10.attn.c_attn"), adapter.modules());
            LoraAdapter.Factors f = adapter.factors("transformer.h.2.attn.c_attn");
            assertEquals(2.0, f.scale(), 0, "lora_alpha / r = 8 / 4");
            assertEquals(4, f.rank());
            assertEquals(24, f.out());
            double[][] expectA = modules.get("transformer.h.2.attn.c_attn")[0];
            assertEquals((float) expectA[3][7], f.a()[3][7], 0, "A read back as stored (float32)");
            AdapterSpectrum spectrum = AdapterSpectrum.of(adapter, null);
            assertEquals(3, spectrum.modules().size());
            var m = spectrum.modules().get(1);
            double frob2 = 0;
            for (double[] row : SvdTest.explicit(f.b(), f.a(), 2.0)) for (double x : row) frob2 += x * x;
            assertEquals(Math.sqrt(frob2), m.frobenius(), 1e-12 * Math.sqrt(frob2), "‖ΔW‖_F of the explicit scale·B·A");
            assertEquals(4, m.numericalRank());
            assertTrue(m.entropyRank() > 1 && m.entropyRank() < 4, "random: between 1 and r, " + m.entropyRank());
        }
    }

    @Test
    void goldenPeftAdapterMatchesNumpy() {
        // testdata/gpt2-golden-lora-c_attn (written by PEFT); expected: numpy 2.4.6 np.linalg.svd (LAPACK gesdd) of
        // 2·B·A formed in float64 from the stored float32 factors, and np.linalg.norm for ‖ΔW‖_F.
        double[][] expected = {{0.6861916629757152, 0.6514219759422085, 0.5038710053786922, 0.37787718588845576},
                {0.7433216203238684, 0.6642327892519581, 0.5770780953607195, 0.36803045249063143}};
        double[] frobenius = {1.1366119596212865, 1.209213699750359};
        try (LoraAdapter adapter = LoraAdapter.open(TestData.dir("gpt2-golden-lora-c_attn"))) {
            AdapterSpectrum s = AdapterSpectrum.of(adapter, null);
            assertEquals(2, s.modules().size());
            for (int l = 0; l < 2; l++) {
                var m = s.modules().get(l);
                assertEquals("transformer.h." + l + ".attn.c_attn", m.module());
                assertArrayEquals(expected[l], m.singularValues(), 1e-13);
                assertEquals(frobenius[l], m.frobenius(), 1e-13);
                assertEquals(4, m.numericalRank());
            }
        }
    }

    @Test
    void rsloraAndRankPatternScales() {
        Random rnd = new Random(22);
        var a = TestAdapters.random(rnd, 4, 8, 8);
        var b = TestAdapters.random(rnd, 2, 8, 8);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("base_model.model.layers.0.q_proj.lora_A.weight", TestAdapters.tensor(a[0]));
        t.put("base_model.model.layers.0.q_proj.lora_B.weight", TestAdapters.tensor(a[1]));
        t.put("base_model.model.layers.0.v_proj.lora_A.weight", TestAdapters.tensor(b[0]));
        t.put("base_model.model.layers.0.v_proj.lora_B.weight", TestAdapters.tensor(b[1]));
        Path dir = TestAdapters.write(tmp.resolve("rs"), "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"use_rslora\": true,"
                + " \"rank_pattern\": {\"v_proj\": 2}, \"target_modules\": [\"q_proj\", \"v_proj\"]}", t);
        try (LoraAdapter adapter = LoraAdapter.open(dir)) {
            assertEquals(8 / 2.0, adapter.entry("layers.0.q_proj").scale(), 1e-15, "alpha / √4");
            assertEquals(8 / Math.sqrt(2), adapter.entry("layers.0.v_proj").scale(), 1e-15, "alpha / √2 by rank_pattern");
        }
    }

    @Test
    void badAdaptersAreNamed() throws Exception {
        Lora4jException e = assertThrows(Lora4jException.class, () -> LoraAdapter.open(tmp.resolve("nope")));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("not found"), e.getMessage());

        Path noWeights = Files.createDirectories(tmp.resolve("no-weights"));
        Files.writeString(noWeights.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 4}");
        e = assertThrows(Lora4jException.class, () -> LoraAdapter.open(noWeights));
        assertTrue(e.getMessage().contains("adapter_model.safetensors: not found"), e.getMessage());

        Random rnd = new Random(23);
        Path noConfig = TestAdapters.write(tmp.resolve("no-config"), 4, 8, Map.of("c_attn", TestAdapters.random(rnd, 4, 4, 4)));
        Files.delete(noConfig.resolve("adapter_config.json"));
        e = assertThrows(Lora4jException.class, () -> LoraAdapter.open(noConfig));
        assertTrue(e.getMessage().contains("adapter_config.json: not found"), e.getMessage());

        var f = TestAdapters.random(rnd, 4, 6, 6);
        String config = "{\"peft_type\": \"LORA\", \"r\": 4, \"target_modules\": [\"c_attn\"]}";
        Path onlyA = TestAdapters.write(tmp.resolve("only-a"), config, Map.of("base_model.model.h.0.c_attn.lora_A.weight", TestAdapters.tensor(f[0])));
        e = assertThrows(Lora4jException.class, () -> LoraAdapter.open(onlyA));
        assertTrue(e.getMessage().contains("h.0.c_attn.lora_A.weight") && e.getMessage().contains("lora_B"), e.getMessage());

        Path wrongRank = TestAdapters.write(tmp.resolve("rank"), config.replace("\"r\": 4", "\"r\": 8"), Map.of(
                "base_model.model.h.0.c_attn.lora_A.weight", TestAdapters.tensor(f[0]),
                "base_model.model.h.0.c_attn.lora_B.weight", TestAdapters.tensor(f[1])));
        e = assertThrows(Lora4jException.class, () -> LoraAdapter.open(wrongRank));
        assertTrue(e.getMessage().contains("rank 4") && e.getMessage().contains("r = 8"), e.getMessage());

        Path noLora = TestAdapters.write(tmp.resolve("none"), config, Map.of("base_model.model.score.weight", TestAdapters.tensor(f[0])));
        e = assertThrows(Lora4jException.class, () -> LoraAdapter.open(noLora));
        assertTrue(e.getMessage().contains("no LoRA tensors"), e.getMessage());
    }
}
