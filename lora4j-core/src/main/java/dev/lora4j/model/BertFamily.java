package dev.lora4j.model;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.CompactFormat;
import java.nio.file.Path;
import java.util.List;

/** BERT and RoBERTa encoders (HF BertModel / RobertaModel and their *ForSequenceClassification), also as ONNX exports. */
public final class BertFamily implements ModelFamily {
    BertFamily() {}

    @Override
    public List<String> modelTypes() {
        return List.of("bert", "roberta");
    }

    @Override
    public List<TaskType> tasks() {
        return List.of(TaskType.SEQ_CLS);
    }

    @Override
    public List<String> defaultLoraTargets() {
        return List.of("query", "value");
    }

    @Override
    public String parameterName(String modelType, String checkpointKey) {
        return BertLoader.encoderKey(modelType, checkpointKey);
    }

    @Override
    public CausalLm causalLm(HfConfig config, Path modelDir, WeightHolding holding) {
        throw notACausalLm(config);
    }

    @Override
    public CausalLm randomCausalLm(HfConfig config, long seed, CompactFormat frozen) {
        throw notACausalLm(config);
    }

    private static Lora4jException notACausalLm(HfConfig config) {
        return new Lora4jException(config.source() + ": model_type '" + config.modelType() + "' is an encoder, not a causal LM "
                + "(its task is seq-cls, sequence classification; it also embeds text)");
    }
}
