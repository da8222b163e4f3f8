// What `lora4j serve` is started with: the base, the adapters, where it listens and its limits (vLLM's flag names).
package dev.lora4j.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Validated on construction ({@link IllegalArgumentException} naming the setting). {@code adapters}: name → PEFT directory,
 * served from the start; {@code adaptersDir}: the only place runtime loading may read from (null: none).
 */
public record ServeConfig(Path model, Map<String, Path> adapters, Path adaptersDir, String host, int port, String apiKey,
                          int maxLoras, int maxCpuLoras, int maxLoraRank, int maxBatch, int maxQueue, String servedModelName,
                          boolean allowRuntimeLora, int maxBodyBytes, Duration shutdownTimeout) {
    public ServeConfig {
        if (model == null) throw new IllegalArgumentException("the base model directory is required");
        adapters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(adapters));   // in the order given
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535] (0: any free port), got " + port);
        positive("max-loras", maxLoras);
        positive("max-cpu-loras", maxCpuLoras);
        positive("max-lora-rank", maxLoraRank);
        positive("max-batch", maxBatch);
        if (maxQueue < 0) throw new IllegalArgumentException("max-queue must be ≥ 0, got " + maxQueue);
        positive("max body bytes", maxBodyBytes);
        if (maxCpuLoras < maxLoras) {
            throw new IllegalArgumentException("max-cpu-loras (" + maxCpuLoras + ") must be at least max-loras (" + maxLoras
                    + "): the adapters of one batch must fit in memory together");
        }
        if (apiKey != null && apiKey.isEmpty()) throw new IllegalArgumentException("the API key is empty");
        if (allowRuntimeLora && adaptersDir == null) {
            throw new IllegalArgumentException("runtime adapter loading needs --adapters-dir: the directory adapters may be loaded from");
        }
        for (String name : adapters.keySet()) AdapterRegistry.checkName(name);
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + " must be at least 1, got " + value);
    }

    public static Builder builder(Path model) {
        return new Builder(model);
    }

    /** Defaults: 127.0.0.1:8000, no key, 4 adapters per batch, 16 in memory, rank ≤ 64, batches of 16, 64 waiting, 1 MB bodies, 30 s to drain. */
    public static final class Builder {
        private final Path model;
        private final Map<String, Path> adapters = new LinkedHashMap<>();
        private Path adaptersDir;
        private String host = "127.0.0.1";
        private int port = 8000;
        private String apiKey;
        private int maxLoras = 4;
        private int maxCpuLoras = 16;
        private int maxLoraRank = 64;
        private int maxBatch = 16;
        private int maxQueue = 64;
        private String servedModelName;
        private boolean allowRuntimeLora;
        private int maxBodyBytes = 1 << 20;
        private Duration shutdownTimeout = Duration.ofSeconds(30);

        private Builder(Path model) {
            this.model = model;
        }

        public Builder adapter(String name, Path dir) {
            if (adapters.putIfAbsent(name, dir) != null) throw new IllegalArgumentException("adapter name '" + name + "' is given twice");
            return this;
        }

        public Builder adaptersDir(Path dir) { this.adaptersDir = dir; return this; }
        public Builder host(String host) { this.host = host; return this; }
        public Builder port(int port) { this.port = port; return this; }
        public Builder apiKey(String key) { this.apiKey = key; return this; }
        public Builder maxLoras(int n) { this.maxLoras = n; return this; }
        public Builder maxCpuLoras(int n) { this.maxCpuLoras = n; return this; }
        public Builder maxLoraRank(int r) { this.maxLoraRank = r; return this; }
        public Builder maxBatch(int n) { this.maxBatch = n; return this; }
        public Builder maxQueue(int n) { this.maxQueue = n; return this; }
        public Builder servedModelName(String name) { this.servedModelName = name; return this; }
        public Builder allowRuntimeLora(boolean on) { this.allowRuntimeLora = on; return this; }
        public Builder maxBodyBytes(int n) { this.maxBodyBytes = n; return this; }
        public Builder shutdownTimeout(Duration d) { this.shutdownTimeout = d; return this; }

        public ServeConfig build() {
            return new ServeConfig(model, adapters, adaptersDir, host, port, apiKey, maxLoras, maxCpuLoras, maxLoraRank, maxBatch,
                    maxQueue, servedModelName, allowRuntimeLora, maxBodyBytes, shutdownTimeout);
        }
    }
}
