package dev.lora4j.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tokenizer.ChatTemplate;
import dev.lora4j.tokenizer.GgufVocab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model loaded from a GGUF file, written as a Hugging Face directory ({@code merge} on a GGUF base): config.json from
 * the GGUF metadata, tokenizer.json from its vocabulary, tokenizer_config.json with its chat template and special
 * tokens, and model.safetensors in float32 (quantized weights widened exactly; a merged LoRA layer as its merged base).
 */
public final class GgufToHf {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private GgufToHf() {}

    /** Writes {@code model}, loaded from the GGUF file {@code gguf}, into a claimed output directory, whole or not at all. */
    public static void save(Path gguf, CausalLm model, Output out) {
        Path staging = out.stage();
        try (GgufFile f = GgufFile.open(gguf)) {
            ObjectNode config = (ObjectNode) GgufFamily.of(f).hfConfig(f).raw();
            Files.writeString(staging.resolve("config.json"), config.toPrettyString() + "\n");
            Files.writeString(staging.resolve("tokenizer.json"), GgufVocab.tokenizerJson(f));
            ObjectNode tc = MAPPER.createObjectNode();
            if (f.has("tokenizer.chat_template")) {
                ChatTemplate t = ChatTemplate.load(gguf);
                tc.put("chat_template", f.string("tokenizer.chat_template"));
                t.specialTokens().forEach(tc::put);
            }
            if (f.has("tokenizer.ggml.add_bos_token")) tc.put("add_bos_token", f.bool("tokenizer.ggml.add_bos_token"));
            Files.writeString(staging.resolve("tokenizer_config.json"), tc.toPrettyString() + "\n");
        } catch (IOException e) {
            throw new Lora4jException(staging + ": cannot write: " + e.getMessage(), e);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.module().namedParameters().forEach((name, t) -> {
            if (GgufExport.isAdapterParameter(name)) return;
            float[] v = new float[t.size()];
            t.storage().widen(0, v, 0, v.length);
            tensors.put(name.replace(".base_layer.", "."), new Tensor(t.shape(), v));
        });
        SafetensorsWriter.write(staging.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        out.commit(staging);
    }
}
