// What serves the requests of one kind of base: a decoder (completions, chat) or an encoder (embeddings, classify).
package dev.lora4j.server;

import java.time.Duration;

/** Adapters are registered by {@link AdapterRegistry}; a backend loads, checks and holds their weights. */
interface Backend extends AutoCloseable {
    /** Loads and checks the adapter of {@code r} (a {@link dev.lora4j.Lora4jException} if it does not fit), so that a first request finds it ready. */
    void preload(AdapterRegistry.Registration r);

    /** Forgets the weights of {@code r} (requests that hold them finish with them). */
    void evict(AdapterRegistry.Registration r);

    /** Adapters held in memory now. */
    int adaptersLoaded();

    /** Stops taking work and lets what was accepted finish, for up to {@code timeout}; the model stays loaded. */
    void drain(Duration timeout);

    /** Releases the model and the adapters; call it once no request handler can use them any more. */
    @Override
    void close();
}
