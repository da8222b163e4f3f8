// Fuzzes config.json: HfConfig.read, then the GPT-2, Llama-family and BERT mappings (Gpt2Config.from,
// LlamaConfig.from, BertConfig.from) on every input, whatever its model_type.
// Any outcome but success or a Lora4jException fails.
package dev.lora4j.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.Lora4jException;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.testing.Fuzz;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigJsonFuzzTest {
    /** Field names the three mappings read, for members the mutator adds. */
    private static final String[] KEYS = {"model_type", "vocab_size", "n_embd", "n_head", "n_layer", "n_inner", "n_positions",
            "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "num_hidden_layers", "intermediate_size",
            "rope_theta", "rope_scaling", "rope_parameters", "sliding_window", "use_sliding_window", "layer_types",
            "max_window_layers", "id2label", "num_labels", "pad_token_id", "eos_token_id", "bos_token_id", "layer_norm_eps",
            "hidden_act", "activation_function", "type_vocab_size", "max_position_embeddings", "classifier_dropout", "quantization_config"};
    private static final List<String> MODELS = List.of("gpt2-golden", "gpt2-tiny", "llama-golden", "mistral-golden",
            "qwen2-golden", "bert-golden", "roberta-golden", "bert-tiny", "llama-golden-bf16-sharded", "bnb/llama-nf4", "bnb/qwen2-fp4");

    @TempDir
    static Path dir;

    static Stream<Named<byte[]>> seeds() throws IOException {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        for (String model : MODELS) valid.put(model, Files.readAllBytes(TestData.dir(model).resolve("config.json")));
        return Fuzz.seeds(valid, Fuzz.oneOf(Fuzz.json(KEYS), Fuzz.json(KEYS), Fuzz.bytes(KEYS)), 20260103L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        Path file = Files.write(dir.resolve("config.json"), input);
        Fuzz.parsesOrRejects(() -> {
            HfConfig c = HfConfig.read(file);
            for (Consumer<HfConfig> family : List.<Consumer<HfConfig>>of(Gpt2Config::from, LlamaConfig::from, BertConfig::from, BnbQuantization::of)) {
                try {
                    family.accept(c);
                } catch (Lora4jException expected) {
                    // not this family, or a field it rejects: the next family still reads the same config
                }
            }
        });
    }
}
