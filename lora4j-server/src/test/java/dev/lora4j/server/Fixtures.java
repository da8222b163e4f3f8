// What the server tests share: the tiny SOTU-pretrained GPT-2 with a chat template (a copy of testdata/gpt2-tiny-sotu),
// four adapters trained on it with FineTune for a few steps (different data and seeds, so they decode differently),
// a server started on a free loopback port, and a plain HTTP client.
package dev.lora4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Method;
import dev.lora4j.train.TrainConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

final class Fixtures {
    static final String CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>\\n{{ m['content'] }}\\n{% endfor %}"
            + "{% if add_generation_prompt %}<|assistant|>\\n{% endif %}";
    private static Path root;
    private static Path model;
    private static List<Path> adapters;

    private Fixtures() {}

    static Path testdata(String name) {
        return Path.of(System.getProperty("lora4j.testdata", "../testdata")).resolve(name);
    }

    /** A directory that lives as long as the test JVM. */
    static synchronized Path root() {
        if (root == null) {
            try {
                root = Files.createTempDirectory("lora4j-server-test");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            root.toFile().deleteOnExit();
        }
        return root;
    }

    /** gpt2-tiny-sotu with a chat template in its tokenizer_config.json. */
    static synchronized Path model() {
        if (model != null) return model;
        try {
            Path src = testdata("gpt2-tiny-sotu");
            model = Files.createDirectories(root().resolve("gpt2-tiny-chat"));
            for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) Files.copy(src.resolve(f), model.resolve(f));
            String config = Files.readString(src.resolve("tokenizer_config.json")).trim();
            config = config.substring(0, config.lastIndexOf('}')) + ", \"chat_template\": \"" + CHAT_TEMPLATE + "\"}";
            Files.writeString(model.resolve("tokenizer_config.json"), config);
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Four adapters for {@link #model()}, trained a few steps each (all-linear r=4, high learning rates) in the adapters directory. */
    static synchronized List<Path> adapters() {
        if (adapters != null) return adapters;
        adapters = new ArrayList<>();
        String[] data = {"moby-dick/train.txt", "moby-dick/valid.txt", "moby-dick/train.txt", "moby-dick/valid.txt"};
        for (int i = 0; i < data.length; i++) {
            FineTune.Result run = FineTune.builder()
                    .model(model())
                    .data(testdata(data[i]))
                    .output(adaptersDir().resolve("adapter-" + i))
                    .method(Method.lora(LoraConfig.peftDefaults().withR(4).withAlpha(8).withTargets(new ModuleSpec.AllLinear())))
                    .config(TrainConfig.builder().lr(3e-2f * (i + 1)).maxSteps(4).seqLen(32).batchSize(4).seed(100 + i).build())
                    .build()
                    .run();
            adapters.add(run.output());
        }
        return adapters;
    }

    static Path adaptersDir() {
        try {
            return Files.createDirectories(root().resolve("adapters"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A config for {@link #model()} with every adapter as "a0".."a3", on a free loopback port. */
    static ServeConfig.Builder config() {
        ServeConfig.Builder b = ServeConfig.builder(model()).port(0).adaptersDir(adaptersDir());
        for (int i = 0; i < adapters().size(); i++) b.adapter("a" + i, adapters().get(i));
        return b;
    }

    static final HttpClient HTTP = HttpClient.newHttpClient();

    record Reply(int status, String body) {
        JsonNode json() {
            try {
                return HttpCall.JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static Reply post(LoraServer server, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(b.build());
    }

    static Reply get(LoraServer server, String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET();
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(b.build());
    }

    static Reply send(HttpRequest request) {
        try {
            HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
