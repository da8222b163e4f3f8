// `lora4j serve`: maps its flags onto lora4j-server's ServeConfig and runs the server until SIGTERM or SIGINT.
package dev.lora4j.cli;

import dev.lora4j.server.LoraServer;
import dev.lora4j.server.ServeConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a base model and its LoRA adapters over an OpenAI-compatible HTTP API (vLLM's endpoints):",
                "GET /v1/models, POST /v1/completions, /v1/chat/completions (decoders), /v1/embeddings, /v1/classify",
                "(encoders), /v1/load_lora_adapter and /v1/unload_lora_adapter (--allow-runtime-lora), GET /health,",
                "/metrics. A request names the base or an adapter in \"model\"; requests for different adapters are",
                "decoded together in one batch. SIGTERM finishes the requests in flight, then exits with status 0."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "The base: a Hugging Face model directory (or an ONNX encoder).")
    Path model;

    @Option(names = "--adapter", paramLabel = "NAME=DIR", description = "A PEFT LoRA adapter served as model NAME (repeatable).")
    List<String> adapters = new ArrayList<>();

    @Option(names = "--adapters-dir", paramLabel = "DIR", description = "The directory runtime loading may read adapters from (nothing outside it).")
    Path adaptersDir;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port (default: ${DEFAULT-VALUE}; 0: any free port).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY' on /v1/ requests (default: the LORA4J_API_KEY environment variable, if set).",
            defaultValue = "${env:LORA4J_API_KEY}")
    String apiKey;

    @Option(names = "--max-loras", defaultValue = "4", paramLabel = "N", description = "Most distinct adapters in one batch (default: ${DEFAULT-VALUE}).")
    int maxLoras;

    @Option(names = "--max-cpu-loras", defaultValue = "16", paramLabel = "N", description = "Most adapters kept in memory, least recently used dropped (default: ${DEFAULT-VALUE}).")
    int maxCpuLoras;

    @Option(names = "--max-lora-rank", defaultValue = "64", paramLabel = "R", description = "Highest adapter rank accepted (default: ${DEFAULT-VALUE}).")
    int maxLoraRank;

    @Option(names = "--max-batch", defaultValue = "16", paramLabel = "N", description = "Most requests decoded together (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "64", paramLabel = "N", description = "Most requests waiting; beyond it: 429 at once (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "The base's id in requests (default: its directory's name).")
    String servedModelName;

    @Option(names = "--allow-runtime-lora", description = "Enable /v1/load_lora_adapter and /v1/unload_lora_adapter (paths inside --adapters-dir).")
    boolean allowRuntimeLora;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ServeConfig.Builder b = ServeConfig.builder(model).adaptersDir(adaptersDir).host(host).port(port).apiKey(apiKey).maxLoras(maxLoras)
                .maxCpuLoras(maxCpuLoras).maxLoraRank(maxLoraRank).maxBatch(maxBatch).maxQueue(maxQueue).servedModelName(servedModelName)
                .allowRuntimeLora(allowRuntimeLora);
        ServeConfig config;
        try {
            for (String a : adapters) {
                int eq = a.indexOf('=');
                if (eq <= 0 || eq == a.length() - 1) throw new IllegalArgumentException("--adapter must be NAME=DIR, got '" + a + "'");
                b.adapter(a.substring(0, eq), Path.of(a.substring(eq + 1)));
            }
            config = b.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        return LoraServer.serve(config);
    }
}
