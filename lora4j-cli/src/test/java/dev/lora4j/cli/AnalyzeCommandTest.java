// lora4j analyze through the CLI (Hu et al. 2021, LoRA, §7): spectra of ΔW = scale·B·A with known singular
// values, φ(i, j) of an adapter with itself (1) and with an orthogonal one (0), --top / --module / --json,
// the PNG heat map, and bad input: missing files, modules that differ, usage errors.
package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AnalyzeCommandTest {
    private static final String H0 = "transformer.h.0.attn.c_attn", H1 = "transformer.h.1.attn.c_attn";
    @TempDir
    Path tmp;

    /** r = 4, alpha 8 (scale 2); A = first rows of I, B = diag(3, 2, 1, 0.5) on top: σ(ΔW) = 6, 4, 2, 1. */
    private Path diagonalAdapter(String name) throws Exception {
        float[] a = new float[4 * 16], b = new float[48 * 4];
        float[] d = {3, 2, 1, 0.5f};
        for (int k = 0; k < 4; k++) {
            a[k * 16 + k] = 1;
            b[k * 4 + k] = d[k];
        }
        return write(name, 4, 8, Map.of(H0, new float[][] {a, b}, H1, new float[][] {a.clone(), b.clone()}));
    }

    /** Writes an adapter; {@code modules} maps a module path to {A [r, in], B [out, r]} flattened row-major. */
    private Path write(String name, int r, int alpha, Map<String, float[][]> modules) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": " + r + ", \"lora_alpha\": " + alpha
                + ", \"target_modules\": [\"c_attn\"], \"task_type\": \"CAUSAL_LM\"}");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        modules.forEach((m, ab) -> {
            tensors.put("base_model.model." + m + ".lora_A.weight", Tensor.of(ab[0], r, ab[0].length / r));
            tensors.put("base_model.model." + m + ".lora_B.weight", Tensor.of(ab[1], ab[1].length / r, r));
        });
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }

    /** Random A whose rows lie in input coordinates [from, from + 8), random B. */
    private Path randomAdapter(String name, int r, int from, long seed) throws Exception {
        Random rnd = new Random(seed);
        Map<String, float[][]> modules = new LinkedHashMap<>();
        for (String m : new String[] {H0, H1}) {
            float[] a = new float[r * 16], b = new float[48 * r];
            for (int k = 0; k < r; k++) for (int j = from; j < from + 8; j++) a[k * 16 + j] = (float) rnd.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian();
            modules.put(m, new float[][] {a, b});
        }
        return write(name, r, 2 * r, modules);
    }

    @Test
    void spectrumTableAndJson() throws Exception {
        Path dir = diagonalAdapter("diag");
        CliTest.Run r = CliTest.run("analyze", dir.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("(r=4, lora_alpha=8), 2 modules"), r.out());
        String row = r.out().lines().filter(l -> l.contains(H1)).findFirst().orElseThrow();
        assertTrue(row.contains("48 x 16") && row.contains("6.000e+00 4.000e+00 2.000e+00 1.000e+00"), row);
        assertTrue(row.contains(String.format("%.3e", Math.sqrt(57))), "‖ΔW‖_F = √(36 + 16 + 4 + 1): " + row);
        assertTrue(r.out().contains("Roy & Vetterli"), r.out());

        CliTest.Run j = CliTest.run("analyze", dir.toString(), "--json", "--top", "2", "--module", "h.1.attn.c_attn");
        assertEquals(0, j.status(), j.err());
        JsonNode m = new ObjectMapper().readTree(j.out()).get("adapters").get(0).get("modules");
        assertEquals(1, m.size(), "--module picks one");
        assertEquals(H1, m.get(0).get("module").asText());
        assertEquals(2, m.get(0).get("singular_values").size(), "--top 2");
        assertEquals(6.0, m.get(0).get("singular_values").get(0).asDouble(), 1e-6);
        assertEquals(4, m.get(0).get("numerical_rank").asInt());
        double p1 = 6 / 13.0, p2 = 4 / 13.0, p3 = 2 / 13.0, p4 = 1 / 13.0;
        double erank = Math.exp(-(p1 * Math.log(p1) + p2 * Math.log(p2) + p3 * Math.log(p3) + p4 * Math.log(p4)));
        assertEquals(erank, m.get(0).get("entropy_rank").asDouble(), 1e-6);
        assertEquals(2.0, m.get(0).get("scale").asDouble(), 0);
    }

    @Test
    void adapterWithItselfIsOneAndPngIsDrawn() throws Exception {
        Path dir = randomAdapter("x", 4, 0, 1);
        Path png = tmp.resolve("plots/self.png");
        CliTest.Run r = CliTest.run("analyze", dir.toString(), "--compare", dir.toString(), "--png", png.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("right singular vectors of A"), "the paper's choice is the default: " + r.out());
        assertTrue(r.out().contains("  i\\j      1      2      3      4"), r.out());
        assertTrue(r.out().contains("    4  1.000  1.000  1.000  1.000"), r.out());
        assertTrue(r.out().contains("heat map written to " + png), r.out());
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "a readable PNG");
        assertTrue(contains(image, HeatMap.color(1.0).getRGB()), "cells of φ = 1");

        CliTest.Run j = CliTest.run("analyze", dir.toString(), "--compare", dir.toString(), "--json", "--subspace", "output");
        JsonNode sim = new ObjectMapper().readTree(j.out()).get("similarity");
        assertEquals("output", sim.get("subspace").asText());
        JsonNode phi = sim.get("modules").get(1).get("phi");
        for (int i = 0; i < 4; i++) assertEquals(1.0, phi.get(i).get(i).asDouble(), 1e-9, "diagonal i = j");
    }

    @Test
    void orthogonalInputSubspacesGiveZeroAcrossRanks() throws Exception {
        Path x = randomAdapter("r4", 4, 0, 2), y = randomAdapter("r8", 8, 8, 3);
        Path png = tmp.resolve("orth.png");
        CliTest.Run j = CliTest.run("analyze", x.toString(), "--compare", y.toString(), "--json", "--png", png.toString());
        assertEquals(0, j.status(), j.err());
        JsonNode o = new ObjectMapper().readTree(j.out());
        JsonNode phi = o.get("similarity").get("modules").get(0).get("phi");
        assertEquals(4, phi.size(), "i = 1..r1");
        assertEquals(8, phi.get(0).size(), "j = 1..r2");
        for (JsonNode row : phi) for (JsonNode v : row) assertEquals(0, v.asDouble(), 1e-6);
        assertEquals(2, o.get("adapters").size());
        assertEquals(8, o.get("adapters").get(1).get("modules").get(0).get("singular_values").size());
        assertTrue(contains(ImageIO.read(png.toFile()), HeatMap.color(0.0).getRGB()), "cells of φ = 0");

        CliTest.Run top = CliTest.run("analyze", x.toString(), "--compare", y.toString(), "--top", "2", "--subspace", "input");
        assertEquals(0, top.status(), top.err());
        assertTrue(top.out().contains("(i <= 2 of 4, j <= 2 of 8)"), top.out());
        assertTrue(top.out().contains("right singular vectors of dW"), top.out());
    }

    @Test
    void badInputIsOneLineNamingTheProblem() throws Exception {
        Path good = randomAdapter("good", 4, 0, 4);
        CliTest.Run missing = CliTest.run("analyze", tmp.resolve("absent").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("absent: adapter directory not found"), missing.err());
        assertFalse(missing.err().contains("\tat "), "no stack trace");

        Path noWeights = Files.createDirectories(tmp.resolve("no-weights"));
        Files.copy(good.resolve("adapter_config.json"), noWeights.resolve("adapter_config.json"));
        CliTest.Run r = CliTest.run("analyze", noWeights.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("adapter_model.safetensors: not found"), r.err());

        Random rnd = new Random(5);
        float[] a = new float[4 * 16], b = new float[64 * 4];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian();
        Path other = write("other", 4, 8, Map.of(H0, new float[][] {a, new float[48 * 4]}, "transformer.h.0.mlp.c_fc", new float[][] {a, b}));
        r = CliTest.run("analyze", good.toString(), "--compare", other.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("do not adapt the same modules") && r.err().contains("only in " + good + ": " + H1)
                && r.err().contains("only in " + other + ": transformer.h.0.mlp.c_fc"), r.err());

        CliTest.Run untrained = CliTest.run("analyze", good.toString(), "--compare", other.toString(), "--module", H0, "--subspace", "output");
        assertEquals(0, untrained.status(), "one module both have: " + untrained.err());
        assertTrue(untrained.out().contains("numerical rank 0 < 4") && untrained.out().contains("B = 0"), untrained.out());

        assertEquals(1, CliTest.run("analyze", good.toString(), "--module", "q_proj").status());
        assertEquals(2, CliTest.run("analyze", good.toString(), "--png", tmp.resolve("p.png").toString()).status(), "--png needs --compare");
        assertEquals(2, CliTest.run("analyze", good.toString(), "--compare", good.toString(), "--subspace", "sideways").status());
        assertEquals(2, CliTest.run("analyze", good.toString(), "--top", "0").status());
    }

    private static boolean contains(BufferedImage image, int rgb) {
        for (int y = 0; y < image.getHeight(); y++) for (int x = 0; x < image.getWidth(); x++) if (image.getRGB(x, y) == rgb) return true;
        return false;
    }
}
