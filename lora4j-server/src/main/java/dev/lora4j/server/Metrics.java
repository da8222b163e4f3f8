// What /metrics reports, in Prometheus' text format (vLLM's set, lora4j_ names): requests by endpoint and status,
// tokens in and out, queue depth, running requests, batch sizes, time to first token, time per output token, adapters.
package dev.lora4j.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** Thread-safe; the engine and the request threads update it, /metrics reads it. */
final class Metrics {
    private static final double[] SECONDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();   // "endpoint\0status"
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder generationTokens = new LongAdder();
    private volatile int queueDepth;
    private volatile int running;
    private final Histogram batchSize = new Histogram("lora4j_batch_size", "Requests decoded together in one step.",
            1, 2, 4, 8, 16, 32, 64, 128, 256);
    private final Histogram firstToken = new Histogram("lora4j_time_to_first_token_seconds",
            "Time from a request's arrival to its first generated token.", SECONDS);
    private final Histogram perToken = new Histogram("lora4j_time_per_output_token_seconds",
            "Time between two generated tokens of a request.", SECONDS);
    private final IntSupplier adaptersLoaded;

    Metrics(IntSupplier adaptersLoaded) {
        this.adaptersLoaded = adaptersLoaded;
    }

    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + "\0" + status, k -> new LongAdder()).increment();
    }

    void promptTokens(int n) {
        promptTokens.add(n);
    }

    void tokensOut(int n) {
        generationTokens.add(n);
    }

    void queueDepth(int n) {
        queueDepth = n;
    }

    void running(int n) {
        running = n;
    }

    void batch(int rows) {
        batchSize.observe(rows);
    }

    void firstToken(long nanos) {
        firstToken.observe(nanos / 1e9);
    }

    void interToken(long nanos) {
        perToken.observe(nanos / 1e9);
    }

    /** The exposition text. */
    String render() {
        StringBuilder out = new StringBuilder();
        out.append("# HELP lora4j_requests_total HTTP requests answered, by endpoint and status.\n");
        out.append("# TYPE lora4j_requests_total counter\n");
        new TreeMap<>(requests).forEach((key, n) -> {
            String[] parts = key.split("\0", 2);
            out.append("lora4j_requests_total{endpoint=\"").append(escape(parts[0])).append("\",status=\"").append(parts[1]).append("\"} ")
                    .append(n.sum()).append('\n');
        });
        counter(out, "lora4j_prompt_tokens_total", "Prompt tokens of the generation requests admitted.", promptTokens.sum());
        counter(out, "lora4j_generation_tokens_total", "Tokens generated.", generationTokens.sum());
        gauge(out, "lora4j_queue_depth", "Requests waiting for a slot in the batch.", queueDepth);
        gauge(out, "lora4j_running_requests", "Requests being decoded.", running);
        gauge(out, "lora4j_adapters_loaded", "LoRA adapters held in memory.", adaptersLoaded.getAsInt());
        batchSize.write(out);
        firstToken.write(out);
        perToken.write(out);
        return out.toString();
    }

    private static void counter(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n').append("# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n').append("# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(value).append('\n');
    }

    private static String escape(String label) {
        return label.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
