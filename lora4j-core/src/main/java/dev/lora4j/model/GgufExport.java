package dev.lora4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.Json;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.io.gguf.GgufWriter;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tokenizer.GgufVocab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A causal LM written as a GGUF file that llama.cpp loads, as convert_hf_to_gguf.py writes one: general.*, the family's
 * {@link GgufLayout} metadata and tensor names (q/k rows permuted for llama), the vocabulary as {@code tokenizer.ggml.*}
 * (from the base's tokenizer.json, or copied from a GGUF base), the chat template; matrices in the chosen type, norms
 * and biases in F32. A merged LoRA layer is written as its base weight (which holds the merge).
 */
public final class GgufExport {
    /** general.file_type of each output type (llama.h llama_ftype). */
    private static final Map<GgmlType, Integer> FILE_TYPE = Map.of(GgmlType.F32, 0, GgmlType.F16, 1, GgmlType.Q8_0, 7, GgmlType.BF16, 32);

    private GgufExport() {}

    /** The types {@link #write} writes matrices in. */
    public static List<GgmlType> outTypes() {
        return List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0);
    }

    /** Writes {@code model}, loaded from {@code base} (a model directory or GGUF file), to {@code file}. */
    public static void write(Path file, CausalLm model, Path base, GgmlType outType) {
        if (!FILE_TYPE.containsKey(outType)) throw new IllegalArgumentException("outtype " + outType);
        ModelFamily family = ModelFamily.of(model.modelType(), base.toString());
        GgufLayout layout = family.ggufLayout(model);
        if (layout == null) throw new Lora4jException(base + ": model_type '" + model.modelType() + "' has no llama.cpp architecture lora4j writes");
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string(layout.architecture()));
        kv.put("general.type", GgufValue.string("model"));
        kv.put("general.name", GgufValue.string(base.toAbsolutePath().normalize().getFileName().toString()));
        kv.put("general.file_type", GgufValue.uint32(FILE_TYPE.get(outType)));
        kv.putAll(layout.metadata());
        kv.putAll(tokenizer(base, model));
        List<GgufWriter.Entry> tensors = new ArrayList<>();
        model.module().namedParameters().forEach((name, t) -> {
            if (isAdapterParameter(name)) return;
            String hf = name.replace(".base_layer.", ".");
            String gguf = layout.tensorName(hf);
            if (gguf == null) throw new Lora4jException(base + ": tensor '" + hf + "' has no name in llama.cpp's " + layout.architecture());
            tensors.add(entry(gguf, t, layout.rowOrder(hf, t.dim(0)), t.shape().rank() == 2 ? outType : GgmlType.F32));
        });
        layout.extraTensors().forEach((name, v) -> tensors.add(new GgufWriter.Entry(name, new long[] {v.length}, GgmlType.F32,
                () -> GgufWriter.encode(v, GgmlType.F32))));
        GgufWriter.write(file, kv, tensors);
    }

    /** A tensor's entry: rows reordered, values widened and encoded when the file is written. */
    static GgufWriter.Entry entry(String name, Tensor t, int[] rowOrder, GgmlType type) {
        int rows = t.dim(0), rowLength = t.size() / rows;
        if (type == GgmlType.Q8_0 && rowLength % 32 != 0) type = GgmlType.F16;       // as convert_hf_to_gguf.py falls back
        long[] ne = new long[t.shape().rank()];
        for (int i = 0; i < ne.length; i++) ne[i] = t.dim(ne.length - 1 - i);
        GgmlType chosen = type;
        return new GgufWriter.Entry(name, ne, type, () -> {
            float[] v = new float[t.size()];
            for (int r = 0; r < rows; r++) t.storage().widen((rowOrder == null ? r : rowOrder[r]) * rowLength, v, r * rowLength, rowLength);
            return GgufWriter.encode(v, chosen);
        });
    }

    /** tokenizer.ggml.* and the chat template: copied from a GGUF base; from tokenizer.json and tokenizer_config.json of a directory. */
    private static Map<String, GgufValue> tokenizer(Path base, CausalLm model) {
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        if (GgufFile.isGguf(base)) {
            try (GgufFile f = GgufFile.open(base)) {
                f.metadata().forEach((k, v) -> {
                    if (k.startsWith("tokenizer.")) kv.put(k, v);
                });
            }
            return kv;
        }
        Path json = base.resolve("tokenizer.json");
        if (!Files.exists(json)) throw new Lora4jException(json + ": not found (llama.cpp needs the model's vocabulary in the GGUF file)");
        InputFile.requireRegular(json, "a Hugging Face tokenizer.json");
        kv.putAll(GgufVocab.metadata(Json.readObject(json, "tokenizer"), json.toString(), model.vocabSize()));
        JsonNode bos = Json.readObject(base.resolve("config.json"), "config").get("bos_token_id");
        if (bos != null && bos.canConvertToInt() && bos.intValue() >= 0) kv.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(bos.intValue()));
        model.eosTokenId().ifPresent(id -> kv.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(id)));
        Path config = base.resolve("tokenizer_config.json");
        JsonNode tc = Files.isRegularFile(config) ? Json.readObject(config, "tokenizer config") : null;
        boolean spm = "llama".equals(kv.get("tokenizer.ggml.model").value());
        kv.put("tokenizer.ggml.add_bos_token", GgufValue.bool(tc != null && tc.has("add_bos_token") ? tc.get("add_bos_token").asBoolean() : spm));
        kv.put("tokenizer.ggml.add_eos_token", GgufValue.bool(tc != null && tc.path("add_eos_token").asBoolean(false)));
        String template = chatTemplate(base, tc);
        if (template != null) kv.put("tokenizer.chat_template", GgufValue.string(template));
        return kv;
    }

    private static String chatTemplate(Path base, JsonNode tokenizerConfig) {
        Path jinja = base.resolve("chat_template.jinja");
        try {
            if (Files.isRegularFile(jinja)) return Files.readString(jinja);
        } catch (IOException e) {
            throw new Lora4jException(jinja + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode t = tokenizerConfig == null ? null : tokenizerConfig.get("chat_template");
        return t != null && t.isTextual() ? t.asText() : null;
    }

    /** A LoRA layer's own parameter (lora_A, lora_B, DoRA's lora_magnitude_vector): not part of a merged model. */
    static boolean isAdapterParameter(String name) {
        return name.contains(".lora_A.") || name.contains(".lora_B.") || name.endsWith(".lora_magnitude_vector");
    }
}
