// Fuzzes adapter_config.json: LoraConfig.read (PEFT's fields, types and defaults) and, when it is
// accepted, toJson. Any outcome but success or a Lora4jException fails.
package dev.lora4j.lora;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.testing.Fuzz;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

class AdapterConfigFuzzTest {
    private static final String[] KEYS = {"peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "exclude_modules",
            "layers_to_transform", "layers_pattern", "bias", "use_rslora", "rank_pattern", "alpha_pattern", "init_lora_weights",
            "fan_in_fan_out", "modules_to_save", "task_type", "base_model_name_or_path", "use_dora", "lora_bias"};

    @TempDir
    static Path dir;

    /** The four PEFT adapters in testdata and one that sets every pattern field. */
    static Stream<Named<byte[]>> seeds() throws IOException {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        for (String adapter : new String[] {"gpt2-golden-lora-c_attn", "gpt2-golden-lora-all-linear", "bert-golden-lora", "roberta-golden-lora"}) {
            valid.put(adapter, Files.readAllBytes(TestData.dir(adapter).resolve("adapter_config.json")));
        }
        valid.put("patterns", """
                {"peft_type": "LORA", "r": 8, "lora_alpha": 16.0, "target_modules": ".*\\\\.(q|v)_proj$",
                 "exclude_modules": ["lm_head"], "layers_to_transform": [0, 2], "layers_pattern": "layers",
                 "rank_pattern": {"q_proj": 4}, "alpha_pattern": {"layers.0.q_proj": 2.5}, "init_lora_weights": "gaussian",
                 "use_rslora": true, "bias": "lora_only", "modules_to_save": ["score"], "task_type": "SEQ_CLS"}
                """.getBytes(StandardCharsets.UTF_8));
        return Fuzz.seeds(valid, Fuzz.oneOf(Fuzz.json(KEYS), Fuzz.json(KEYS), Fuzz.bytes(KEYS)), 20260104L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Path file = Files.write(dir.resolve("adapter_config.json"), input);
        Fuzz.parsesOrRejects(() -> LoraConfig.read(file).toJson());
    }
}
