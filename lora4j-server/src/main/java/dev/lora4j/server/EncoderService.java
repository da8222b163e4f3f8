// The encoder side of the server (BERT family, a directory or an ONNX export): embeddings as sentence-transformers
// pools them and classification with a SEQ_CLS adapter, through core's TextEmbedder and TextClassifier. An adapter's
// facades hold their own copy of the base; at most --max-cpu-loras of them stay in memory (LRU). One batch at a time.
package dev.lora4j.server;

import dev.lora4j.Lora4jException;
import dev.lora4j.inference.TextClassifier;
import dev.lora4j.inference.TextEmbedder;
import dev.lora4j.model.bert.EncoderTokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Thread-safe: requests past {@code maxBatch + maxQueue} at once are refused (429); the others run one after another
 * (the GEMMs use every core anyway).
 */
final class EncoderService implements Backend {
    /** The facades of one adapter (or of the base: key null), made when first asked for. */
    private static final class Facades {
        TextEmbedder embedder;
        TextClassifier classifier;

        void close() {
            if (embedder != null) embedder.close();
            if (classifier != null) classifier.close();
        }
    }

    private final Path model;
    private final int maxCpuLoras;
    private final Semaphore admission;
    private final int permits;
    private final Map<AdapterRegistry.Registration, Facades> adapters = new LinkedHashMap<>(16, 0.75f, true);   // guarded by this
    private final Facades base = new Facades();
    private final EncoderTokenizer counter;
    private boolean closed;

    EncoderService(ServeConfig config) {
        this.model = config.model();
        this.maxCpuLoras = config.maxCpuLoras();
        this.permits = config.maxBatch() + config.maxQueue();
        this.admission = new Semaphore(permits);
        this.base.embedder = TextEmbedder.load(model);
        this.counter = EncoderTokenizer.load(model, base.embedder.encoder().config().maxSequenceLength());
    }

    int contextLength() {
        return base.embedder.encoder().config().maxSequenceLength();
    }

    /** Tokens of {@code text} as the encoder sees it (special tokens included, cut at the model's maximum): usage counts. */
    int tokens(String text) {
        return counter.encode(text).inputIds().length;
    }

    float[][] embed(AdapterRegistry.Registration adapter, List<String> texts) {
        return run(adapter, f -> {
            if (f.embedder == null) f.embedder = TextEmbedder.load(model, adapter.path());
            return f.embedder.embed(texts);
        });
    }

    List<TextClassifier.Prediction> classify(AdapterRegistry.Registration adapter, List<String> texts) {
        return run(adapter, f -> {
            if (f.classifier == null) f.classifier = adapter == null ? TextClassifier.load(model) : TextClassifier.load(model, adapter.path());
            return f.classifier.classify(texts);
        });
    }

    private <T> T run(AdapterRegistry.Registration adapter, Function<Facades, T> work) {
        if (!admission.tryAcquire()) {
            throw new ApiError(ErrorKind.OVERLOADED, "the server is busy: " + permits + " encoder requests are running or waiting; retry later");
        }
        try {
            synchronized (this) {
                if (closed) throw new ApiError(ErrorKind.SHUTTING_DOWN, "the server is shutting down");
                try {
                    return work.apply(facades(adapter));
                } catch (Lora4jException e) {
                    throw new ApiError(ErrorKind.BAD_REQUEST, e.getMessage());
                }
            }
        } finally {
            admission.release();
        }
    }

    private Facades facades(AdapterRegistry.Registration adapter) {
        if (adapter == null) return base;
        Facades f = adapters.computeIfAbsent(adapter, a -> new Facades());
        while (adapters.size() > maxCpuLoras) {
            var eldest = adapters.entrySet().iterator().next();
            eldest.getValue().close();
            adapters.remove(eldest.getKey());
        }
        return f;
    }

    @Override
    public synchronized void preload(AdapterRegistry.Registration r) {
        Facades f = facades(r);
        try {
            if (f.embedder == null) f.embedder = TextEmbedder.load(model, r.path());
        } catch (RuntimeException e) {
            adapters.remove(r);
            throw e;
        }
    }

    @Override
    public synchronized void evict(AdapterRegistry.Registration r) {
        Facades f = adapters.remove(r);
        if (f != null) f.close();
    }

    @Override
    public synchronized int adaptersLoaded() {
        return adapters.size();
    }

    @Override
    public void drain(Duration timeout) {
        try {
            if (admission.tryAcquire(permits, timeout.toMillis(), TimeUnit.MILLISECONDS)) admission.release(permits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        adapters.values().forEach(Facades::close);
        adapters.clear();
        base.close();
        counter.close();
    }
}
