// Continuous batching across adapters (Orca's iteration-level scheduling, vLLM's scheduler, Punica's multi-adapter
// batches): one thread owns the model; between two decoding steps it admits waiting requests (each prompt runs alone,
// as `generate` runs it) and drops finished ones; each step decodes one token of every running request as one batch,
// rows grouped by adapter.
package dev.lora4j.server;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.LinearAdapter;
import dev.lora4j.nn.SequenceBatch;
import dev.lora4j.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * At most {@code maxBatch} requests run at once, with at most {@code maxLoras} distinct adapters among them; at most
 * {@code maxQueue} wait, and a request beyond that is refused at once (429). A waiting request whose adapter would
 * exceed {@code maxLoras} lets the requests behind it go first.
 */
final class Engine implements AutoCloseable {
    private final CausalLm model;
    private final int maxBatch;
    private final int maxQueue;
    private final int maxLoras;
    private final Metrics metrics;
    private final ArrayDeque<Generation> waiting = new ArrayDeque<>();
    private final List<Generation> running = new ArrayList<>();     // engine thread only
    private final Thread thread;
    private boolean closing;                                          // guarded by waiting
    private volatile boolean abort;                                   // the drain timed out: fail what is left
    private int accepted;                                             // waiting + running, guarded by waiting

    Engine(CausalLm model, int maxBatch, int maxQueue, int maxLoras, Metrics metrics) {
        this.model = model;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.maxLoras = maxLoras;
        this.metrics = metrics;
        this.thread = Thread.ofPlatform().name("lora4j-engine").daemon(true).start(this::loop);
    }

    /** Queues {@code g}; a full queue is a 429 and a closing engine a 503, at once. */
    void submit(Generation g) {
        synchronized (waiting) {
            if (closing) throw new ApiError(ErrorKind.SHUTTING_DOWN, "the server is shutting down");
            if (accepted >= maxBatch + maxQueue) {
                throw new ApiError(ErrorKind.OVERLOADED, "the server is busy: " + accepted + " requests are running or waiting (--max-batch "
                        + maxBatch + ", --max-queue " + maxQueue + "); retry later");
            }
            accepted++;
            waiting.add(g);
            metrics.queueDepth(waiting.size());
            waiting.notifyAll();
        }
    }

    private void loop() {
        while (true) {
            List<Generation> admitted = admit();
            if (admitted == null || abort) {
                for (Generation g : new ArrayList<>(running)) fail(g, new Lora4jException("the server shut down before this request finished"));
                if (admitted != null) admitted.forEach(g -> fail(g, new Lora4jException("the server shut down before this request ran")));
                return;
            }
            for (Generation g : admitted) prefill(g);
            if (!running.isEmpty()) step();
            metrics.running(running.size());
        }
    }

    /** The requests to start now (null: closed and nothing left); waits while there is nothing to do. */
    private List<Generation> admit() {
        synchronized (waiting) {
            while (waiting.isEmpty() && running.isEmpty()) {
                if (closing) return null;
                try {
                    waiting.wait();
                } catch (InterruptedException e) {
                    return null;
                }
            }
            Set<LinearAdapter> inUse = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
            for (Generation g : running) if (g.adapter != null) inUse.add(g.adapter);
            List<Generation> admitted = new ArrayList<>();
            for (Iterator<Generation> it = waiting.iterator(); it.hasNext() && running.size() + admitted.size() < maxBatch; ) {
                Generation g = it.next();
                if (g.cancelled()) {
                    it.remove();
                    accepted--;
                    continue;
                }
                if (g.adapter != null && !inUse.contains(g.adapter) && inUse.size() >= maxLoras) continue;
                if (g.adapter != null) inUse.add(g.adapter);
                it.remove();
                admitted.add(g);
            }
            metrics.queueDepth(waiting.size());
            return admitted;
        }
    }

    /** Runs the prompt alone (the same products as `generate`'s prefill) and picks the first token. */
    private void prefill(Generation g) {
        try {
            g.cache = model.newKvCache(g.prompt.length + g.maxTokens - 1);   // the last new token is never fed back
            Tensor logits = model.forwardBatch(SequenceBatch.of(List.of(new SequenceBatch.Sequence(g.prompt, g.cache, g.adapter))));
            running.add(g);
            choose(g, logits.data());
        } catch (RuntimeException e) {
            fail(g, e);
        }
    }

    /** One decoding step of every running request, rows grouped by adapter (Punica's segments). */
    private void step() {
        for (Generation g : new ArrayList<>(running)) if (g.cancelled()) finish(g, Generation.Finish.STOP);
        if (running.isEmpty()) return;
        Map<LinearAdapter, List<Generation>> groups = new LinkedHashMap<>();
        for (Generation g : running) groups.computeIfAbsent(g.adapter, a -> new ArrayList<>()).add(g);
        List<Generation> order = new ArrayList<>();
        groups.values().forEach(order::addAll);
        List<SequenceBatch.Sequence> rows = new ArrayList<>();
        for (Generation g : order) rows.add(new SequenceBatch.Sequence(new int[] {g.next}, g.cache, g.adapter));
        metrics.batch(order.size());
        Tensor logits;
        try {
            logits = model.forwardBatch(SequenceBatch.of(rows));
        } catch (RuntimeException e) {
            for (Generation g : order) fail(g, e);
            return;
        }
        int V = logits.dim(-1);
        for (int i = 0; i < order.size(); i++) choose(order.get(i), Arrays.copyOfRange(logits.data(), i * V, (i + 1) * V));
    }

    /** Samples the next token of {@code g} from its logits and hands it on, or ends it (eos, max_tokens, non-finite logits). */
    private void choose(Generation g, float[] logits) {
        int bad = FiniteCheck.firstNonFinite(logits, 0, logits.length);
        if (bad >= 0) {
            fail(g, new Lora4jException("the model's logits are not finite (" + logits[bad] + " for token id " + bad + ") after "
                    + g.generated + " generated tokens: its weights (or the adapter's) overflow float32"));
            return;
        }
        int next = g.sampler.sample(logits);
        if (g.isEos(next)) {
            finish(g, Generation.Finish.STOP);
            return;
        }
        long now = System.nanoTime();
        if (g.generated == 0) metrics.firstToken(now - g.submittedNanos);
        else metrics.interToken(now - g.lastTokenNanos);
        g.lastTokenNanos = now;
        g.generated++;
        g.next = next;
        metrics.tokensOut(1);
        g.events.add(new Generation.Token(next));
        if (g.generated == g.maxTokens) finish(g, Generation.Finish.LENGTH);
    }

    private void finish(Generation g, Generation.Finish reason) {
        end(g, new Generation.Finished(reason));
    }

    private void fail(Generation g, RuntimeException e) {
        end(g, new Generation.Failed(e instanceof Lora4jException ? e.getMessage() : "generation failed: " + e));
    }

    /** Frees the slot of {@code g} and tells its request. */
    private void end(Generation g, Generation.Event last) {
        running.remove(g);
        synchronized (waiting) {
            accepted--;
        }
        g.events.add(last);
    }


    /**
     * Stops taking requests, lets the queued and running ones finish for up to {@code timeout}, then fails what is
     * left and stops the thread.
     */
    void shutdown(Duration timeout) {
        synchronized (waiting) {
            closing = true;
            waiting.notifyAll();
        }
        try {
            thread.join(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            synchronized (waiting) {
                for (Generation g : waiting) g.events.add(new Generation.Failed("the server shut down before this request ran"));
                waiting.clear();
            }
            abort = true;
            try {
                thread.join(Duration.ofSeconds(10));       // the step in progress ends, then the thread fails the rest
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }
}
