// One request's decoding as the engine runs it: the prompt, its adapter, its sampler and limits; the tokens go to the
// request's thread through a queue, so the engine never waits on a client.
package dev.lora4j.server;

import dev.lora4j.generate.Sampler;
import dev.lora4j.nn.KvCache;
import dev.lora4j.nn.LinearAdapter;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** Engine-side fields are touched by the engine thread only; {@link #cancel} may come from any thread. */
final class Generation {
    /** Why a generation ended, as OpenAI's {@code finish_reason} names it. */
    enum Finish {
        STOP("stop"), LENGTH("length");

        final String openAi;

        Finish(String openAi) {
            this.openAi = openAi;
        }
    }

    /** What the request thread receives: tokens, then an end or a failure. */
    sealed interface Event permits Token, Finished, Failed {}

    record Token(int id) implements Event {}

    record Finished(Finish reason) implements Event {}

    record Failed(String message) implements Event {}

    final int[] prompt;
    final LinearAdapter adapter;          // null: the base
    final Sampler sampler;
    final int maxTokens;
    final int[] eosTokenIds;
    final long submittedNanos = System.nanoTime();
    final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;

    // engine thread only
    KvCache cache;
    int next;                             // the last token chosen, fed back at the next step
    int generated;
    long lastTokenNanos;

    Generation(int[] prompt, LinearAdapter adapter, Sampler sampler, int maxTokens, int[] eosTokenIds) {
        this.prompt = prompt;
        this.adapter = adapter;
        this.sampler = sampler;
        this.maxTokens = maxTokens;
        this.eosTokenIds = eosTokenIds;
    }

    /** Stops it at the next step (the client went away, or a stop string was found): its slot is freed. */
    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    boolean isEos(int token) {
        for (int id : eosTokenIds) if (id == token) return true;
        return false;
    }
}
