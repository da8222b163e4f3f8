// Writes small PEFT LoRA adapter directories for the rank-analysis tests (Hu et al. 2021 §7): adapter_config.json
// and adapter_model.safetensors with base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
package dev.lora4j.analysis;

import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.linalg.SvdTest;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

final class TestAdapters {
    private TestAdapters() {}

    /** {A (r×in), B (out×r)} with Gaussian entries. */
    static double[][][] random(Random rnd, int r, int in, int out) {
        return new double[][][] {SvdTest.gaussian(rnd, r, in), SvdTest.gaussian(rnd, out, r)};
    }

    /** Writes an adapter with rank r and lora_alpha alpha; {@code modules} maps module path to {A, B}. */
    static Path write(Path dir, int r, double alpha, Map<String, double[][][]> modules) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : new TreeMap<>(modules).entrySet()) {
            tensors.put("base_model.model." + e.getKey() + ".lora_A.weight", tensor(e.getValue()[0]));
            tensors.put("base_model.model." + e.getKey() + ".lora_B.weight", tensor(e.getValue()[1]));
        }
        List<String> leaves = modules.keySet().stream().map(m -> '"' + m.substring(m.lastIndexOf('.') + 1) + '"').distinct().sorted().toList();
        String config = "{\"peft_type\": \"LORA\", \"r\": " + r + ", \"lora_alpha\": " + alpha + ", \"target_modules\": "
                + leaves + ", \"task_type\": \"CAUSAL_LM\"}";
        return write(dir, config, tensors);
    }

    static Path write(Path dir, String config, Map<String, Tensor> tensors) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("adapter_config.json"), config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }

    static Tensor tensor(double[][] m) {
        float[] flat = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) flat[i * m[0].length + j] = (float) m[i][j];
        return Tensor.of(flat, m.length, m[0].length);
    }
}
