// `lora4j serve`: an OpenAI-compatible HTTP server over one base model and many LoRA adapters, following vLLM's
// conventions (/v1/models with parent and root, runtime load_lora_adapter / unload_lora_adapter, /health, /metrics).
// HTTP is the JDK's own com.sun.net.httpserver with a virtual thread per exchange: no framework, and a request that
// waits for its tokens costs no platform thread.
package dev.lora4j.server;

import com.sun.net.httpserver.HttpServer;
import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts listening in {@link #start}; {@link #close} stops taking requests, lets those in flight finish (for up to the
 * config's shutdown timeout) and frees the model. Every error is answered as {@code {"error": {"message", "type",
 * "param", "code"}}}, never with a stack trace.
 */
public final class LoraServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LoraServer.class);
    private static final Map<String, String> ROUTES = Map.of(
            "/v1/models", "GET", "/v1/completions", "POST", "/v1/chat/completions", "POST", "/v1/embeddings", "POST",
            "/v1/classify", "POST", "/v1/load_lora_adapter", "POST", "/v1/unload_lora_adapter", "POST", "/health", "GET",
            "/metrics", "GET");

    private final ServeConfig config;
    private final AdapterRegistry registry;
    private final Backend backend;
    private final GenerationService generation;   // null for an encoder
    private final EncoderService encoder;         // null for a decoder
    private final ServedModels models;
    private final Metrics metrics;
    private final CompletionsEndpoint completions;
    private final EncoderEndpoints encoderEndpoints;
    private final byte[] apiKey;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicInteger inFlight = new AtomicInteger();            // exchange handlers running now
    private HttpServer http;
    private volatile boolean stopping;

    private LoraServer(ServeConfig config) {
        this.config = config;
        this.registry = new AdapterRegistry(config.adaptersDir());
        this.metrics = new Metrics(() -> backend().adaptersLoaded());
        if (GenerationService.isDecoder(config.model())) {
            this.generation = new GenerationService(config, metrics);
            this.encoder = null;
            this.backend = generation;
        } else {
            this.generation = null;
            this.encoder = new EncoderService(config);
            this.backend = encoder;
        }
        String baseId = config.servedModelName() != null ? config.servedModelName() : baseName(config);
        this.models = new ServedModels(baseId, config.model(), generation != null ? generation.contextLength() : encoder.contextLength(), registry);
        this.completions = generation == null ? null : new CompletionsEndpoint(generation, models, metrics);
        this.encoderEndpoints = encoder == null ? null : new EncoderEndpoints(encoder, models);
        this.apiKey = config.apiKey() == null ? null : config.apiKey().getBytes(StandardCharsets.UTF_8);
        try {
            config.adapters().forEach((name, dir) -> {
                if (name.equals(baseId)) throw new Lora4jException("adapter name '" + name + "' is the base model's id");
                AdapterRegistry.Registration r = registry.create(name, dir.toAbsolutePath().normalize());
                try {
                    backend.preload(r);
                } catch (Lora4jException e) {
                    throw new Lora4jException("adapter '" + name + "': " + e.getMessage(), e);
                }
                registry.put(r);
            });
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    private Backend backend() {
        return backend;
    }

    private static String baseName(ServeConfig config) {
        java.nio.file.Path name = config.model().toAbsolutePath().normalize().getFileName();
        return name == null ? "model" : name.toString();
    }

    /** Loads the model and the adapters, then listens on the config's host and port (0: any free port). */
    public static LoraServer start(ServeConfig config) {
        LoraServer server = new LoraServer(config);
        try {
            server.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 128);
        } catch (IOException e) {
            server.backend.close();
            throw new Lora4jException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        server.http.setExecutor(server.executor);
        server.http.createContext("/", exchange -> server.handle(new HttpCall(exchange, config.maxBodyBytes())));
        server.http.start();
        LOG.info("serving {} on http://{}:{} ({} adapters)", server.models.baseId(), config.host(), server.port(), config.adapters().size());
        return server;
    }

    /** The port it listens on. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The base model's id in requests. */
    public String baseModelId() {
        return models.baseId();
    }

    private void handle(HttpCall call) {
        inFlight.incrementAndGet();
        try {
            respond(call);
        } finally {
            synchronized (inFlight) {
                inFlight.decrementAndGet();
                inFlight.notifyAll();
            }
        }
    }

    private void respond(HttpCall call) {
        String path = call.path();
        String route = ROUTES.containsKey(path) ? path : "other";
        try (var exchange = call.exchange()) {
            try {
                dispatch(call, path);
            } catch (ApiError e) {
                if (call.status() == 0) call.sendError(e);
            } catch (CompletionsEndpoint.ClientGone e) {
                // nothing to answer: the generation was cancelled
            } catch (RuntimeException e) {
                LOG.warn("{} {} failed", call.method(), path, e);
                if (call.status() == 0) call.sendError(new ApiError(ErrorKind.INTERNAL, "internal error: " + e.getClass().getSimpleName()));
            }
        } catch (IOException e) {
            LOG.debug("{} {}: the client went away: {}", call.method(), path, e.getMessage());
        } finally {
            metrics.request(route, call.status() == 0 ? 499 : call.status());
        }
    }

    private void dispatch(HttpCall call, String path) throws IOException {
        String method = ROUTES.get(path);
        if (method == null) throw new ApiError(ErrorKind.NOT_FOUND, "no such endpoint: " + path);
        if (!method.equals(call.method())) throw new ApiError(ErrorKind.METHOD_NOT_ALLOWED, path + " takes " + method + ", not " + call.method());
        if (path.startsWith("/v1/")) authorize(call);
        switch (path) {
            case "/health" -> {
                if (stopping) throw new ApiError(ErrorKind.SHUTTING_DOWN, "the server is shutting down");
                call.sendText(200, "text/plain", "");
            }
            case "/metrics" -> call.sendText(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render());
            case "/v1/models" -> call.send(200, models.list());
            case "/v1/completions" -> decoder(path).handle(call, CompletionsEndpoint.Kind.COMPLETION);
            case "/v1/chat/completions" -> decoder(path).handle(call, CompletionsEndpoint.Kind.CHAT);
            case "/v1/embeddings" -> encoder(path).embeddings(call);
            case "/v1/classify" -> encoder(path).classify(call);
            case "/v1/load_lora_adapter" -> loadAdapter(call);
            case "/v1/unload_lora_adapter" -> unloadAdapter(call);
            default -> throw new ApiError(ErrorKind.NOT_FOUND, "no such endpoint: " + path);
        }
    }

    private CompletionsEndpoint decoder(String path) {
        if (completions == null) throw new ApiError(ErrorKind.BAD_REQUEST, path + " needs a decoder (GPT-2, Llama, ...); this server's model is an encoder");
        if (stopping) throw new ApiError(ErrorKind.SHUTTING_DOWN, "the server is shutting down");
        return completions;
    }

    private EncoderEndpoints encoder(String path) {
        if (encoderEndpoints == null) throw new ApiError(ErrorKind.BAD_REQUEST, path + " needs an encoder (BERT, RoBERTa); this server's model is a decoder");
        if (stopping) throw new ApiError(ErrorKind.SHUTTING_DOWN, "the server is shutting down");
        return encoderEndpoints;
    }

    /** With --api-key, /v1/ requests need "Authorization: Bearer KEY" (compared in constant time). */
    private void authorize(HttpCall call) {
        if (apiKey == null) return;
        String header = call.exchange().getRequestHeaders().getFirst("Authorization");
        byte[] given = header != null && header.startsWith("Bearer ") ? header.substring(7).getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, apiKey)) {
            throw new ApiError(ErrorKind.UNAUTHORIZED, header == null ? "missing API key: send the header 'Authorization: Bearer KEY'" : "invalid API key");
        }
    }

    /** vLLM's runtime loading: {"lora_name", "lora_path"}; the path must lie inside --adapters-dir. Replacing a name is atomic. */
    private void loadAdapter(HttpCall call) throws IOException {
        if (!config.allowRuntimeLora()) throw new ApiError(ErrorKind.NOT_FOUND, "runtime adapter loading is off (start with --allow-runtime-lora)");
        Fields f = new Fields(call.readJson());
        String name = f.requiredString("lora_name");
        String loraPath = f.requiredString("lora_path");
        try {
            AdapterRegistry.checkName(name);
        } catch (IllegalArgumentException e) {
            throw Fields.bad("lora_name", e.getMessage());
        }
        if (name.equals(models.baseId())) throw Fields.bad("lora_name", "'lora_name' " + name + " is the base model's id");
        AdapterRegistry.Registration r = registry.create(name, registry.resolveRuntimePath(loraPath));
        try {
            backend.preload(r);              // on this request's thread: running requests go on meanwhile
        } catch (Lora4jException e) {
            throw new ApiError(ErrorKind.BAD_REQUEST, "adapter '" + name + "' cannot be served: " + e.getMessage(), "lora_path");
        }
        AdapterRegistry.Registration old;
        synchronized (registry) {
            old = registry.get(name);
            registry.put(r);
        }
        if (old != null) backend.evict(old);
        call.sendText(200, "text/plain", "Success: LoRA adapter '" + name + "' added successfully.");
    }

    private void unloadAdapter(HttpCall call) throws IOException {
        if (!config.allowRuntimeLora()) throw new ApiError(ErrorKind.NOT_FOUND, "runtime adapter loading is off (start with --allow-runtime-lora)");
        Fields f = new Fields(call.readJson());
        String name = f.requiredString("lora_name");
        AdapterRegistry.Registration r = registry.remove(name);
        if (r == null) throw new ApiError(ErrorKind.NOT_FOUND, "The lora adapter '" + name + "' cannot be found.", "lora_name");
        backend.evict(r);
        call.sendText(200, "text/plain", "Success: LoRA adapter '" + name + "' removed successfully.");
    }

    /**
     * Stops accepting connections and requests, lets the requests in flight finish for up to the config's shutdown
     * timeout, then releases the model.
     */
    @Override
    public void close() {
        if (stopping) return;
        stopping = true;
        Duration timeout = config.shutdownTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        backend.drain(timeout);
        awaitHandlers(deadline);                                 // each writes its last events (a stream's [DONE]) and returns
        if (http != null) http.stop(0);
        executor.shutdownNow();
        backend.close();                                         // after the handlers: a stream decodes its last tokens with the tokenizer
        LOG.info("stopped");
    }

    /** Waits until no exchange handler runs any more, or until {@code deadline} (System.nanoTime()). */
    private void awaitHandlers(long deadline) {
        synchronized (inFlight) {
            while (inFlight.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return;
                try {
                    inFlight.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Runs until SIGTERM or SIGINT, then shuts down as {@link #close} does; returns the exit status (0). */
    public static int serve(ServeConfig config) {
        java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
        for (String signal : new String[] {"TERM", "INT"}) {     // before the server says it serves: a signal then drains it
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> stop.countDown());
        }
        LoraServer server = start(config);
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("shutting down: finishing the requests in flight (at most {} s)", config.shutdownTimeout().toSeconds());
        server.close();
        return 0;
    }
}
