// The loaders check a checkpoint against the parameter shapes a config implies before allocating the model; those
// shapes are listed by hand, so here they are held to what the built models really have, family by family, and a
// config whose sizes the checkpoint does not have must fail before anything config-sized is allocated.
package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.BertModel;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.gpt2.Gpt2Loader;
import dev.lora4j.model.gpt2.Gpt2Model;
import dev.lora4j.model.llama.LlamaConfig;
import dev.lora4j.model.llama.LlamaLoader;
import dev.lora4j.model.llama.LlamaModel;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Shape;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParameterShapesTest {
    @TempDir
    Path tmp;

    private static Map<String, Shape> built(Module m) {
        Map<String, Shape> out = new TreeMap<>();
        m.namedParameters().forEach((name, p) -> out.put(name, p.shape()));
        return out;
    }

    private static HfConfig config(String dir) {
        return HfConfig.read(TestData.dir(dir).resolve("config.json"));
    }

    @Test
    void listedShapesAreThoseOfTheBuiltModels() {
        for (String dir : List.of("gpt2-tiny", "gpt2-golden")) {
            Gpt2Config c = Gpt2Config.from(config(dir));
            assertEquals(built(new Gpt2Model(c)), new TreeMap<>(Gpt2Loader.parameterShapes(c)), dir);
        }
        String llama = "{\"model_type\": \"llama\", \"vocab_size\": 10, \"hidden_size\": 8, \"intermediate_size\": 12,"
                + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 4";
        for (HfConfig h : List.of(config("llama-golden"), config("mistral-golden"), config("qwen2-golden"),
                HfConfig.parse(llama + ", \"attention_bias\": true, \"mlp_bias\": true}", "biased"),
                HfConfig.parse(llama + ", \"tie_word_embeddings\": true}", "tied"))) {
            LlamaConfig c = LlamaConfig.from(h);
            assertEquals(built(new LlamaModel(c)), new TreeMap<>(LlamaLoader.parameterShapes(c)), h.source());
        }
        for (String dir : List.of("bert-golden", "roberta-golden")) {
            BertConfig c = BertConfig.from(config(dir));
            for (boolean pooler : new boolean[] {true, false}) {
                assertEquals(built(new BertModel(c, pooler)), new TreeMap<>(BertLoader.encoderShapes(c, pooler, "")), dir + " pooler " + pooler);
            }
            assertEquals(built(new BertForSequenceClassification(c)), new TreeMap<>(BertLoader.classifierShapes(c)), dir + " classifier");
        }
    }

    /** A copy of {@code dir} with {@code from} replaced by {@code to} in config.json. */
    private Path withConfig(String dir, String from, String to) throws IOException {
        Path copy = Files.createDirectories(tmp.resolve(dir + "-" + to.replaceAll("\\W", "")));
        try (var files = Files.list(TestData.dir(dir))) {
            for (Path f : files.toList()) Files.copy(f, copy.resolve(f.getFileName()));
        }
        String config = Files.readString(copy.resolve("config.json"));
        assertTrue(config.contains(from), from);
        Files.writeString(copy.resolve("config.json"), config.replace(from, to));
        return copy;
    }

    @Test
    void configSizesTheCheckpointLacksFailBeforeTheModelIsAllocated() throws IOException {
        Path wide = withConfig("gpt2-tiny", "\"n_embd\": 16", "\"n_embd\": 16384");   // would allocate > 6 GB
        String msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(wide)).getMessage();
        assertTrue(msg.contains("the weights do not match the model its config describes")
                && msg.contains("wte.weight: checkpoint [50257, 16], model expects [50257, 16384]"), msg);

        Path deep = withConfig("gpt2-tiny", "\"n_layer\": 2", "\"n_layer\": 100000");   // would allocate 2.3 GB
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(deep)).getMessage();
        assertTrue(msg.contains("the config's n_layer is 100000, but the weights hold 2 layers (h.0 to h.1)"), msg);

        Path llama = withConfig("llama-golden", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 2000000");
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.load(llama)).getMessage();
        assertTrue(msg.contains("the config's num_hidden_layers is 2000000, but the weights hold 2 layers"), msg);

        Path bert = withConfig("bert-golden", "\"intermediate_size\": 64", "\"intermediate_size\": 6400000");
        msg = assertThrows(Lora4jException.class, () -> ModelLoader.loadEncoder(bert)).getMessage();
        assertTrue(msg.contains("encoder.layer.0.intermediate.dense.weight: checkpoint [64, 32], model expects [6400000, 32]"), msg);
    }
}
