// The decoder side of the server: the base causal LM (never modified: adapters are held apart), its tokenizer, end-of-text
// tokens and chat template, the engine that batches the requests, and the adapters' LRU.
package dev.lora4j.server;

import dev.lora4j.Lora4jException;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.generate.Sampler;
import dev.lora4j.lora.AdapterWeights;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tokenizer.ChatTemplate;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Thread-safe: requests encode and decode on their own threads; only the engine's thread runs the model. */
final class GenerationService implements Backend {
    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final int[] eosTokenIds;
    private final ChatTemplate chatTemplate;     // null: the model has none
    private final String noTemplate;
    private final Engine engine;
    private final AdapterCache adapters;

    GenerationService(ServeConfig config, Metrics metrics) {
        this.model = ModelLoader.load(config.model());
        model.module().train(false);
        this.tokenizer = Tokenizer.load(config.model());
        this.eosTokenIds = GenerationConfig.eosTokenIds(config.model());
        ChatTemplate template = null;
        String why = null;
        try {
            template = ChatTemplate.load(config.model());
        } catch (Lora4jException e) {
            why = e.getMessage();
        }
        this.chatTemplate = template;
        this.noTemplate = why;
        this.adapters = new AdapterCache(model, config.maxCpuLoras(), config.maxLoraRank());
        this.engine = new Engine(model, config.maxBatch(), config.maxQueue(), config.maxLoras(), metrics);
    }

    int contextLength() {
        return model.maxPositions();
    }

    int vocabSize() {
        return model.vocabSize();
    }

    int[] encode(String text) {
        return tokenizer.encode(text);
    }

    String decode(int[] ids) {
        return tokenizer.decode(ids);
    }

    /** The prompt of a chat: the messages through the model's chat template, with the assistant's turn opened. */
    String chatPrompt(List<Map<String, Object>> messages) {
        if (chatTemplate == null) throw new ApiError(ErrorKind.BAD_REQUEST, "this model has no chat template: " + noTemplate, "messages");
        try {
            return chatTemplate.render(messages, true);
        } catch (Lora4jException e) {
            throw new ApiError(ErrorKind.BAD_REQUEST, e.getMessage(), "messages");
        }
    }

    /** Queues the decoding of {@code prompt} with the adapter of {@code adapter} (null: the base); 429 when the queue is full. */
    Generation submit(int[] prompt, AdapterRegistry.Registration adapter, Sampler sampler, int maxTokens) {
        AdapterWeights weights = adapter == null ? null : adapters.get(adapter);
        Generation g = new Generation(prompt, weights, sampler, maxTokens, eosTokenIds);
        engine.submit(g);
        return g;
    }

    @Override
    public void preload(AdapterRegistry.Registration r) {
        adapters.get(r);
    }

    @Override
    public void evict(AdapterRegistry.Registration r) {
        adapters.evict(r);
    }

    @Override
    public int adaptersLoaded() {
        return adapters.size();
    }

    @Override
    public void drain(Duration timeout) {
        engine.shutdown(timeout);
    }

    @Override
    public void close() {
        engine.close();                 // stops the thread at once if drain was not called
        tokenizer.close();
    }

    /** Whether the base in {@code model} is a decoder (served by this class) rather than an encoder. */
    static boolean isDecoder(Path model) {
        return ModelLoader.defaultTask(model) == dev.lora4j.model.TaskType.CAUSAL_LM;
    }
}
