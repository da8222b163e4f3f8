package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.DType;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.CompactFormat;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.testing.Storages;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A base loaded straight into a compact format ({@code train --base-dtype}): every storage is bit for bit what the
 * float32 load followed by the conversion of each matrix gives, and the loading allocates about the compact size, not
 * the float32 model's (it never builds the float32 matrices, neither while constructing the model nor while reading).
 */
class CompactLoadingTest {
    /** tiny-llama's vocabulary (its tokenizer, for the GGUF), layers wide enough that matrices span several chunks. */
    private static final String CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "bos_token_id": 1, "eos_token_id": 2,
             "hidden_act": "silu", "hidden_size": 512, "intermediate_size": 4096, "max_position_embeddings": 64,
             "num_attention_heads": 8, "num_hidden_layers": 2, "num_key_value_heads": 4, "rms_norm_eps": 1e-05,
             "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "float32", "vocab_size": 442}
            """;

    @TempDir
    static Path tmp;
    private static Path f32, f16, q8Gguf;
    private static long f32Bytes;

    @BeforeAll
    static void generate() throws IOException {
        HfConfig config = HfConfig.parse(CONFIG, "generated config.json");
        CausalLm model = new LlamaFamily().randomCausalLm(config, 1);
        Map<String, Tensor> params = model.module().namedParameters();
        f32Bytes = 4 * model.module().parameterCount();
        f32 = modelDir("f32", params, Map.of());
        Map<String, DType> halves = new HashMap<>();
        params.keySet().forEach(n -> halves.put(n, DType.F16));
        f16 = modelDir("f16", params, halves);
        q8Gguf = tmp.resolve("q8_0.gguf");
        GgufExport.write(q8Gguf, model, f32, GgmlType.Q8_0);
    }

    private static Path modelDir(String name, Map<String, Tensor> params, Map<String, DType> dtypes) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("config.json"), CONFIG);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(TestData.dir("gguf").resolve("tiny-llama").resolve(f), dir.resolve(f));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), params, Map.of(), dtypes);
        return dir;
    }

    static Stream<Arguments> modelsAndFormats() {
        List<Arguments> out = new ArrayList<>();
        for (CompactFormat format : CompactFormat.values()) {
            for (String model : List.of("llama-golden", "qwen2-golden", "gpt2-golden", "llama-golden-bf16-sharded", "bnb/tiny-llama-nf4",
                    "gguf/tiny-qwen2.gguf", "generated f16")) {
                out.add(Arguments.of(model, format));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("modelsAndFormats")
    void streamedStoragesAreTheConvertedFloat32Ones(String model, CompactFormat format) {
        Path dir = model.equals("generated f16") ? f16
                : model.endsWith(".gguf") ? TestData.dir("gguf").resolve(model.substring("gguf/".length())) : TestData.dir(model);
        CausalLm converted = ModelLoader.load(dir);
        converted.module().holdFrozenMatrices(format);
        CausalLm streamed = ModelLoader.load(dir, m -> name -> format);
        Map<String, Tensor> expected = converted.module().namedParameters(), actual = streamed.module().namedParameters();
        assertEquals(expected.keySet(), actual.keySet());
        int compact = 0;
        for (String name : expected.keySet()) {
            WeightStorage e = expected.get(name).storage(), a = actual.get(name).storage();
            assertEquals(e.getClass(), a.getClass(), name);
            assertArrayEquals(Storages.bytes(e), Storages.bytes(a), name);
            if (!(a instanceof WeightStorage.F32)) compact++;
        }
        assertTrue(compact > 0, "no matrix was held compactly");
    }

    /** A random model drawn with its matrices held compactly at once has the storages of one drawn in float32 and converted. */
    @ParameterizedTest
    @EnumSource(CompactFormat.class)
    void aRandomModelDrawnCompactlyIsTheConvertedFloat32One(CompactFormat format) {
        HfConfig config = HfConfig.parse(CONFIG, "generated config.json");
        CausalLm converted = new LlamaFamily().randomCausalLm(config, 1), drawn = new LlamaFamily().randomCausalLm(config, 1, format);
        converted.module().namedParameters().values().forEach(t -> t.requiresGrad(false));
        converted.module().holdFrozenMatrices(format);
        Map<String, Tensor> expected = converted.module().namedParameters(), actual = drawn.module().namedParameters();
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            WeightStorage e = expected.get(name).storage(), a = actual.get(name).storage();
            assertEquals(e.getClass(), a.getClass(), name);
            assertArrayEquals(Storages.bytes(e), Storages.bytes(a), name);
            if (!(a instanceof WeightStorage.F32)) assertFalse(actual.get(name).requiresGrad(), name + " is held compactly, so frozen");
        }
    }

    /** The heap the child JVM loads in: less than the float32 model (59 MB), more than its Q4_0 (8 MB) or Q8_0 (16 MB) blocks. */
    private static final String HEAP = "-Xmx40m";

    @Test
    void aBaseLoadedIntoQ4_0FitsInAHeapItsFloat32MatricesExceed() throws Exception {
        assertTrue(f32Bytes > 56_000_000, "the float32 model is " + f32Bytes + " bytes");
        assertEquals("loaded", loadInChildJvm(f32, "Q4_0"));
        assertTrue(loadInChildJvm(f32, "F32").contains("OutOfMemoryError"), "the float32 model must not fit in " + HEAP);
    }

    @Test
    void aQuantizedGgufIsLoadedWithoutFloat32Matrices() throws Exception {
        assertEquals("loaded", loadInChildJvm(q8Gguf, "F32"));
    }

    /** What {@link LoadWithinHeap} prints after loading {@code model} in a JVM of {@link #HEAP}: "loaded", or the error. */
    private static String loadInChildJvm(Path model, String format) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), HEAP, "-cp",
                System.getProperty("java.class.path"), LoadWithinHeap.class.getName(), model.toString(), format)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return out;
    }

    /** Loads a model (args: path, a {@link CompactFormat} or F32) and prints "loaded", or the error it failed with. */
    public static final class LoadWithinHeap {
        public static void main(String[] args) {
            CompactFormat format = args[1].equals("F32") ? null : CompactFormat.valueOf(args[1]);
            try {
                ModelLoader.load(Path.of(args[0]), m -> name -> format);
                System.out.println("loaded");
            } catch (OutOfMemoryError e) {
                System.out.println(e);
            }
        }
    }
}
