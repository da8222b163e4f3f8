package dev.lora4j.model;

import dev.lora4j.io.HfConfig;
import dev.lora4j.io.WeightStore;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Loader;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.nn.RandomInit;
import dev.lora4j.tensor.CompactFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/** GPT-2 (HF GPT2LMHeadModel): Conv1D layers, learned positions, a head tied to the embedding. */
public final class Gpt2Family implements ModelFamily {
    Gpt2Family() {}

    @Override
    public List<String> modelTypes() {
        return List.of("gpt2");
    }

    @Override
    public List<TaskType> tasks() {
        return List.of(TaskType.CAUSAL_LM);
    }

    @Override
    public List<String> defaultLoraTargets() {
        return List.of("c_attn");
    }

    @Override
    public boolean fanInFanOut() {
        return true;
    }

    @Override
    public String parameterName(String modelType, String checkpointKey) {
        return Gpt2Loader.modelKey(checkpointKey);
    }

    @Override
    public CausalLm causalLm(HfConfig config, Path modelDir, WeightHolding holding) {
        Gpt2Config gpt2 = Gpt2Config.from(config);
        try (WeightStore weights = WeightStore.open(modelDir)) {
            Gpt2Model m = Gpt2Loader.load(gpt2, weights, holding);
            m.setEosTokenId(eos(config));
            return m;
        }
    }

    @Override
    public CausalLm randomCausalLm(HfConfig config, long seed, CompactFormat frozen) {
        Gpt2Model m = new Gpt2Model(Gpt2Config.from(config));
        RandomInit.apply(m.module(), seed, frozen);
        m.setEosTokenId(eos(config));
        return m;
    }

    private static OptionalInt eos(HfConfig config) {
        return config.has("eos_token_id") ? OptionalInt.of(config.requireInt("eos_token_id")) : OptionalInt.empty();
    }
}
