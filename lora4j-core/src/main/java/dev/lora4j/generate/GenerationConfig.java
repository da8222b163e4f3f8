// What one generation does, with the field meanings of HF's GenerationConfig (max_new_tokens,
// temperature, top_k, top_p, eos_token_id); eos is read as GenerationConfig.from_pretrained does:
// generation_config.json when the model directory has one, else config.json.
package dev.lora4j.generate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.gguf.GgufFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * {@code temperature} 0 = greedy; {@code topK} 0 and {@code topP} 1 = off (see {@link Sampler});
 * generation stops after {@code maxNewTokens} or at any of {@code eosTokenIds} (none: never).
 * Validated on construction ({@link Lora4jException} naming the setting).
 */
public record GenerationConfig(int maxNewTokens, float temperature, int topK, float topP, long seed, int[] eosTokenIds) {
    public GenerationConfig {
        if (maxNewTokens < 1) throw new Lora4jException("max new tokens must be at least 1, got " + maxNewTokens);
        Sampler.validate(temperature, topK, topP);
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
    }

    /** Argmax decoding without an eos token. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0f, 0, 1f, 0L, new int[0]);
    }

    public GenerationConfig withEosTokenIds(int... ids) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, ids);
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    public boolean isEos(int token) {
        for (int id : eosTokenIds) if (id == token) return true;
        return false;
    }

    /** A fresh sampler for one generation, seeded with {@link #seed()}. */
    public Sampler sampler() {
        return new Sampler(temperature, topK, topP, seed);
    }

    /**
     * {@code eos_token_id} (a number, a list, or absent) of the model directory's generation_config.json, else config.json;
     * of a GGUF file, its tokenizer.ggml.eos_token_id.
     */
    public static int[] eosTokenIds(Path modelDir) {
        if (GgufFile.isGguf(modelDir)) {
            try (GgufFile gguf = GgufFile.open(modelDir)) {
                String key = "tokenizer.ggml.eos_token_id";
                return gguf.has(key) ? new int[] {(int) gguf.integer(key, 0, Integer.MAX_VALUE)} : new int[0];
            }
        }
        Path file = modelDir.resolve("generation_config.json");
        if (Files.notExists(file, LinkOption.NOFOLLOW_LINKS)) file = modelDir.resolve("config.json");
        HfConfig config = HfConfig.read(file);
        if (!config.has("eos_token_id")) return new int[0];
        JsonNode node = config.raw().get("eos_token_id");
        if (node.isArray()) {
            int[] ids = new int[node.size()];
            for (int i = 0; i < ids.length; i++) ids[i] = tokenId(node.get(i), config);
            return ids;
        }
        return new int[] {tokenId(node, config)};
    }

    private static int tokenId(JsonNode node, HfConfig config) {
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 0) {
            throw new Lora4jException(config.source() + ": field 'eos_token_id' is " + node + ", expected a token id or a list of them");
        }
        return node.intValue();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationConfig g && maxNewTokens == g.maxNewTokens && Float.compare(temperature, g.temperature) == 0
                && topK == g.topK && Float.compare(topP, g.topP) == 0 && seed == g.seed && Arrays.equals(eosTokenIds, g.eosTokenIds);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(eosTokenIds) + Objects.hash(maxNewTokens, temperature, topK, topP, seed);
    }

    @Override
    public String toString() {
        return "GenerationConfig[maxNewTokens=" + maxNewTokens + ", temperature=" + temperature + ", topK=" + topK
                + ", topP=" + topP + ", seed=" + seed + ", eosTokenIds=" + Arrays.toString(eosTokenIds) + "]";
    }
}
