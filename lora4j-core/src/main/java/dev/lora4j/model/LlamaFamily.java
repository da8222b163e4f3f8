package dev.lora4j.model;

import dev.lora4j.io.HfConfig;
import dev.lora4j.io.WeightStore;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.model.llama.LlamaLoader;
import dev.lora4j.model.llama.LlamaModel;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.RandomInit;
import java.nio.file.Path;
import java.util.List;

/** Llama and the models built like it (HF LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM). */
public final class LlamaFamily implements ModelFamily {
    LlamaFamily() {}

    @Override
    public List<String> modelTypes() {
        return List.of("llama", "mistral", "qwen2");
    }

    @Override
    public List<TaskType> tasks() {
        return List.of(TaskType.CAUSAL_LM);
    }

    @Override
    public List<String> defaultLoraTargets() {
        return List.of("q_proj", "v_proj");
    }

    @Override
    public String parameterName(String modelType, String checkpointKey) {
        return LlamaLoader.modelKey(checkpointKey);
    }

    @Override
    public CausalLm causalLm(HfConfig config, Path modelDir) {
        LlamaConfig llama = LlamaConfig.from(config);
        try (WeightStore weights = WeightStore.open(modelDir)) {
            return LlamaLoader.load(llama, weights);
        }
    }

    @Override
    public CausalLm randomCausalLm(HfConfig config, long seed) {
        LlamaModel m = new LlamaModel(LlamaConfig.from(config));
        RandomInit.apply(m.module(), seed);
        return m;
    }
}
