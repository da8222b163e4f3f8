package dev.lora4j.inference;

import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.generate.Generator;
import dev.lora4j.generate.TextStreamer;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A causal LM ready to write text: a base model (Hugging Face directory), optionally with a PEFT adapter applied
 * unmerged, its tokenizer and its end-of-text tokens. It holds the tokenizer's native memory, so close it.
 *
 * <pre>{@code
 * try (TextGenerator gpt = TextGenerator.load(base, adapter)) {
 *     String text = gpt.generate("Call me Ishmael.", GenerationConfig.greedy(20));
 * }
 * }</pre>
 *
 * Not thread-safe: one generation at a time per instance.
 */
public final class TextGenerator implements AutoCloseable {
    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final int[] eosTokenIds;

    private TextGenerator(CausalLm model, Tokenizer tokenizer, int[] eosTokenIds) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosTokenIds = eosTokenIds;
    }

    /** The base model of {@code modelDir} (with its tokenizer.json). */
    public static TextGenerator load(Path modelDir) {
        return load(modelDir, null);
    }

    /** The base model of {@code modelDir} with the PEFT adapter in {@code adapterDir} (unmerged; null for none). */
    public static TextGenerator load(Path modelDir, Path adapterDir) {
        CausalLm model = ModelLoader.load(modelDir);
        if (adapterDir != null) AdapterIO.load(adapterDir, model);
        int[] eos = GenerationConfig.eosTokenIds(modelDir);
        return new TextGenerator(model, Tokenizer.load(modelDir), eos);
    }

    /**
     * The continuation of {@code prompt} (without the prompt). Generation stops after {@code maxNewTokens} or at an
     * end-of-text token: the config's, or the model's (generation_config.json / config.json) when it names none.
     */
    public String generate(String prompt, GenerationConfig config) {
        return generate(prompt, config, text -> {});
    }

    /** As {@link #generate(String, GenerationConfig)}, handing each new piece of text to {@code onText} as it is made. */
    public String generate(String prompt, GenerationConfig config, Consumer<String> onText) {
        GenerationConfig c = config.eosTokenIds().length > 0 ? config : config.withEosTokenIds(eosTokenIds);
        StringBuilder all = new StringBuilder();
        TextStreamer streamer = new TextStreamer(tokenizer::decode, piece -> {
            all.append(piece);
            onText.accept(piece);
        });
        Generator.generate(model, tokenizer.encode(prompt), c, streamer);
        streamer.finish();
        return all.toString();
    }

    /** The model (for lower-level use: its module tree, a KV cache, merging). */
    public CausalLm model() {
        return model;
    }

    /** The model's tokenizer. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
