package dev.lora4j.model;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.WeightStore;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Loader;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.model.llama.LlamaLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;

/** Opens a Hugging Face model directory: reads config.json, picks the family by {@code model_type}, loads the weights. */
public final class ModelLoader {
    private ModelLoader() {}

    public static CausalLm load(Path dir) {
        if (!Files.isDirectory(dir)) throw new Lora4jException(dir + ": not found (expected a model directory with config.json)");
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        String type = config.modelType();
        return switch (type) {
            case "gpt2" -> {
                Gpt2Config gpt2 = Gpt2Config.from(config);
                try (WeightStore weights = WeightStore.open(dir)) {
                    Gpt2Model m = Gpt2Loader.load(gpt2, weights);
                    m.setEosTokenId(config.has("eos_token_id") ? OptionalInt.of(config.requireInt("eos_token_id")) : OptionalInt.empty());
                    yield m;
                }
            }
            case "llama", "mistral", "qwen2" -> {
                LlamaConfig llama = LlamaConfig.from(config);
                try (WeightStore weights = WeightStore.open(dir)) {
                    yield LlamaLoader.load(llama, weights);
                }
            }
            case "bert", "roberta" -> throw new Lora4jException(
                    config.source() + ": model_type '" + type + "' is not supported yet (supported: gpt2, llama, mistral, qwen2)");
            default -> throw new Lora4jException(config.source() + ": unknown model_type '" + type
                    + "' (supported: gpt2, llama, mistral, qwen2)");
        };
    }

    /** The family's map from checkpoint keys to parameter names (null for tensors the model ignores). */
    public static UnaryOperator<String> keyMapper(String modelType) {
        return switch (modelType) {
            case "gpt2" -> Gpt2Loader::modelKey;
            case "llama", "mistral", "qwen2" -> LlamaLoader::modelKey;
            default -> throw new Lora4jException("unknown model_type '" + modelType + "'");
        };
    }
}
