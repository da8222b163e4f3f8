package dev.lora4j.model.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufWriter;
import dev.lora4j.tensor.Shape;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * testdata/gguf/tiny-llama with Llama 3.1's rope_scaling ("llama3", factor 8, low_freq_factor 1, high_freq_factor 4) and
 * original_max_position_embeddings 32 (Meta's is 8192), so its eight inverse frequencies (head_dim 16, wavelengths
 * 6.3 .. 19869) take all three branches: the first is kept, the second blended, the other six divided by 8.
 */
final class Llama3RopeModel {
    private Llama3RopeModel() {}

    /** The Hugging Face directory, written into {@code dir}. */
    static Path write(Path dir) throws IOException {
        return write(dir, 32);
    }

    /** The same with {@code originalMaxPositions} as original_max_position_embeddings. */
    static Path write(Path dir, int originalMaxPositions) throws IOException {
        Path src = TestData.dir("gguf").resolve("tiny-llama");
        Files.createDirectories(dir);
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) Files.copy(src.resolve(f), dir.resolve(f));
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode config = (ObjectNode) mapper.readTree(src.resolve("config.json").toFile());
        config.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", originalMaxPositions);
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        return dir;
    }

    /** A copy of the GGUF file {@code from} (tensors widened to F32) with {@code factors} as its rope_freqs.weight. */
    static void withRopeFreqs(Path from, Path to, float[] factors) {
        List<GgufWriter.Entry> tensors = new ArrayList<>();
        try (GgufFile f = GgufFile.open(from)) {
            for (String name : f.tensors().keySet()) {
                if (name.equals("rope_freqs.weight")) continue;
                Shape s = f.shape(name);
                long[] ne = new long[s.rank()];
                for (int i = 0; i < ne.length; i++) ne[i] = s.dim(ne.length - 1 - i);
                float[] v = new float[s.size()];
                f.read(name).widen(0, v, 0, v.length);
                tensors.add(new GgufWriter.Entry(name, ne, GgmlType.F32, () -> GgufWriter.encode(v, GgmlType.F32)));
            }
            tensors.add(new GgufWriter.Entry("rope_freqs.weight", new long[] {factors.length}, GgmlType.F32, () -> GgufWriter.encode(factors, GgmlType.F32)));
            GgufWriter.write(to, f.metadata(), tensors);
        }
    }
}
