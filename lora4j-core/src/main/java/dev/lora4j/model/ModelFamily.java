package dev.lora4j.model;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.CompactFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A family of checkpoints lora4j loads, and everything lora4j knows about it: the {@code model_type} values of
 * config.json it reads, its config parsing and model construction, the map from Hugging Face checkpoint keys to its
 * module tree, PEFT's default LoRA targets for it, and the tasks it is trained for. This is the only place that reads
 * {@code model_type}; adding a family is one new implementation here.
 */
public sealed interface ModelFamily permits Gpt2Family, LlamaFamily, BertFamily {
    /** Every family, in the order their names are listed in errors. */
    List<ModelFamily> ALL = List.of(new Gpt2Family(), new LlamaFamily(), new BertFamily());

    /** The {@code model_type} values it reads ("llama", "mistral", "qwen2"). */
    List<String> modelTypes();

    /** The tasks it can be trained for; the first is its default. */
    List<TaskType> tasks();

    /** PEFT's default {@code target_modules} (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
    List<String> defaultLoraTargets();

    /** Whether its linear layers store weights (in, out), as GPT-2's Conv1D does: PEFT's {@code fan_in_fan_out}. */
    default boolean fanInFanOut() {
        return false;
    }

    /** The parameter name of a checkpoint key of {@code modelType}, or null for a tensor the model ignores (buffers). */
    String parameterName(String modelType, String checkpointKey);

    /**
     * The causal LM of a model directory whose config.json is {@code config}: the config is parsed first, then the
     * weights' shapes are compared with it, then the model is built and loaded, its weights held as {@code holding} says.
     */
    CausalLm causalLm(HfConfig config, Path modelDir, WeightHolding holding);

    /** How {@code model} (one of this family's) is written to GGUF, or null when llama.cpp has no architecture for it. */
    default GgufLayout ggufLayout(CausalLm model) {
        return null;
    }

    /** A causal LM with fresh weights ({@link dev.lora4j.nn.RandomInit}): how new small base models are made. */
    default CausalLm randomCausalLm(HfConfig config, long seed) {
        return randomCausalLm(config, seed, null);
    }

    /** The same, its matrices frozen and held in {@code frozen} as they are drawn (null: float32 and trainable). */
    CausalLm randomCausalLm(HfConfig config, long seed, CompactFormat frozen);

    /** Whether it is trained for {@code task}. */
    default boolean supports(TaskType task) {
        return tasks().contains(task);
    }

    /** The family of a config.json. */
    static ModelFamily of(HfConfig config) {
        return of(config.modelType(), config.source());
    }

    /** The family of {@code modelType}; {@code source} (a file) is named in the error for an unknown one. */
    static ModelFamily of(String modelType, String source) {
        for (ModelFamily f : ALL) if (f.modelTypes().contains(modelType)) return f;
        throw new Lora4jException(source + ": unknown model_type '" + modelType + "' (supported: "
                + String.join(", ", ALL.stream().flatMap(f -> f.modelTypes().stream()).toList()) + ")");
    }

    /** Every model_type lora4j reads. */
    static Stream<String> modelTypesOfAll() {
        return ALL.stream().flatMap(f -> f.modelTypes().stream());
    }
}
