package dev.lora4j.model;

import dev.lora4j.io.Bnb4bitWeights;
import dev.lora4j.io.BnbQuantization;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.WeightStore;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.model.llama.LlamaGguf;
import dev.lora4j.model.llama.LlamaGgufNames;
import dev.lora4j.model.llama.LlamaLoader;
import dev.lora4j.model.llama.LlamaModel;
import dev.lora4j.model.llama.RopeFactors;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.RandomInit;
import dev.lora4j.nn.StateDict;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.CompactFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Llama and the models built like it (HF LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM). */
public final class LlamaFamily implements ModelFamily, GgufFamily {
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
    public CausalLm causalLm(HfConfig config, Path modelDir, WeightHolding holding) {
        LlamaConfig llama = LlamaConfig.from(config);
        BnbQuantization bnb = BnbQuantization.of(config);
        try (WeightStore weights = WeightStore.open(modelDir)) {
            return LlamaLoader.load(llama, bnb == null ? StateDict.Source.of(weights) : StateDict.Source.of(Bnb4bitWeights.open(weights, bnb)), holding);
        }
    }

    @Override
    public List<String> ggufArchitectures() {
        return LlamaGguf.ARCHITECTURES;
    }

    @Override
    public HfConfig hfConfig(GgufFile gguf) {
        return LlamaGguf.hfConfig(gguf);
    }

    @Override
    public CausalLm causalLm(GgufFile gguf, WeightHolding holding) {
        return LlamaGguf.load(gguf, holding);
    }

    @Override
    public GgufLayout ggufLayout(CausalLm model) {
        LlamaConfig c = ((LlamaModel) model).config();
        String arch = LlamaGguf.architecture(c);
        RopeFactors ropeFactors = LlamaGguf.ropeFactors((LlamaModel) model);
        return new GgufLayout() {
            public String architecture() {
                return arch;
            }

            public Map<String, GgufValue> metadata() {
                return LlamaGguf.metadata(c);
            }

            public Map<String, float[]> extraTensors() {
                return ropeFactors == null ? Map.of() : Map.of(RopeFactors.GGUF_TENSOR, ropeFactors.values());
            }

            public String tensorName(String hfName) {
                return LlamaGgufNames.ggufName(hfName);
            }

            public int[] rowOrder(String hfName, int rows) {
                int heads = LlamaGgufNames.permutedHeads(arch, hfName, c);
                return heads == 0 ? null : LlamaGgufNames.ggufRowsFromHf(rows, heads);
            }
        };
    }

    @Override
    public CausalLm randomCausalLm(HfConfig config, long seed, CompactFormat frozen) {
        LlamaModel m = new LlamaModel(LlamaConfig.from(config));
        RandomInit.apply(m.module(), seed, frozen);
        return m;
    }
}
