// Every bad request gets an OpenAI-style error body with the right status, never a stack trace or a dead server:
// bad JSON, wrong types, unknown models and paths, max_tokens past the context, oversized bodies, missing API keys,
// a full queue (429 at once), a client that leaves mid-stream (its slot is freed), and adapter paths that escape.
package dev.lora4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class HostileInputTest {
    static void assertError(Fixtures.Reply r, int status, String code) {
        assertEquals(status, r.status(), r.body());
        JsonNode e = r.json().get("error");
        assertTrue(e != null && e.get("message").isTextual() && e.get("type").isTextual() && e.has("param"), r.body());
        assertEquals(code, e.get("code").asText(), r.body());
        assertFalse(r.body().contains("at dev.lora4j") || r.body().contains("Exception"), "no stack trace: " + r.body());
    }

    @Test
    void badRequestsGetErrorBodies() {
        try (LoraServer server = LoraServer.start(Fixtures.config().build())) {
            String base = server.baseModelId();
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": "), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "[1, 2]"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", ""), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"model\": \"a1\", \"prompt\": \"x\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"prompt\": \"x\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": 7, \"prompt\": \"x\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"nope\", \"prompt\": \"x\"}"), 404, "model_not_found");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"x\", \"max_tokens\": \"5\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"x\", \"max_tokens\": -1}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"x\", \"temperature\": \"hot\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"x\", \"n\": 2}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": [1e9]}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"x\", \"stop\": [1]}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"x\", \"max_tokens\": 128}"), 400, "context_length_exceeded");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"" + "word ".repeat(200) + "\"}"), 400, "context_length_exceeded");
            assertError(Fixtures.post(server, "/v1/chat/completions", "{\"model\": \"a0\", \"messages\": \"hi\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/chat/completions", "{\"model\": \"a0\", \"messages\": [{\"content\": \"hi\"}]}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/embeddings", "{\"model\": \"" + base + "\", \"input\": \"x\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", "{\"model\": \"a0\", \"prompt\": \"" + "a".repeat(1 << 20) + "\"}"), 413, "request_too_large");
            assertError(Fixtures.get(server, "/v1/nothing"), 404, "not_found");
            assertError(Fixtures.get(server, "/v1/completions"), 405, "method_not_allowed");
            assertError(Fixtures.post(server, "/v1/load_lora_adapter", "{\"lora_name\": \"x\", \"lora_path\": \"adapter-0\"}"), 404, "not_found");
            Fixtures.Reply ok = Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("a0", "Still alive?", 3, ""));
            assertEquals(200, ok.status(), ok.body());
        }
    }

    @Test
    void anApiKeyIsRequiredWhenSet() {
        try (LoraServer server = LoraServer.start(Fixtures.config().apiKey("s3cret").build())) {
            assertError(Fixtures.get(server, "/v1/models"), 401, "invalid_api_key");
            assertError(Fixtures.get(server, "/v1/models", "Authorization", "Bearer wrong"), 401, "invalid_api_key");
            assertError(Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("a0", "x", 2, "")), 401, "invalid_api_key");
            assertEquals(200, Fixtures.get(server, "/v1/models", "Authorization", "Bearer s3cret").status());
            assertEquals(200, Fixtures.get(server, "/health").status());
        }
    }

    @Test
    void aFullQueueIsAnsweredWith429AtOnceAndALeavingClientFreesItsSlot() throws Exception {
        try (LoraServer server = LoraServer.start(Fixtures.config().maxBatch(1).maxQueue(0).build())) {
            // a streaming request that takes the only slot; read its first event, then hang up
            Socket socket = new Socket("127.0.0.1", server.port());
            String body = OpenAiApiTest.completionBody("a1", "The whale", 120, ", \"stream\": true").replace("\"temperature\": 0", "\"temperature\": 0, \"ignore\": 1");
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            String head = readUntil(in, "data: ");
            assertTrue(head.startsWith("HTTP/1.1 200"), head);
            Fixtures.Reply busy = Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("a0", "x", 2, ""));
            assertError(busy, 429, "rate_limit_exceeded");
            socket.close();
            // the abandoned generation is cancelled at its next write: a new request gets the slot well before 120 tokens
            Fixtures.Reply after = null;
            for (int i = 0; i < 200 && (after == null || after.status() == 429); i++) {
                after = Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("a0", "x", 2, ""));
                if (after.status() == 429) Thread.sleep(20);
            }
            assertEquals(200, after.status(), after.body());
            String metrics = Fixtures.get(server, "/metrics").body();
            assertTrue(ConcurrencyTest.count(metrics, "lora4j_generation_tokens_total (\\d+)") < 120, "the stream stopped early:\n" + metrics);
        }
    }

    private static String readUntil(InputStream in, String marker) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().contains(marker)) {
            int c = in.read();
            if (c < 0) break;
            sb.append((char) c);
        }
        return sb.toString();
    }

    @Test
    void runtimeAdaptersLoadOnlyFromInsideTheAdaptersDirectory() throws Exception {
        Path outside = Files.createTempDirectory("outside");
        Path copy = Files.createDirectories(outside.resolve("stolen"));
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors"}) Files.copy(Fixtures.adapters().get(2).resolve(f), copy.resolve(f));
        Path dir = Fixtures.adaptersDir();
        Path link = dir.resolve("link-out");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, copy);
        Path fileLinks = Files.createDirectories(dir.resolve("file-links-" + System.nanoTime()));
        Files.copy(copy.resolve("adapter_config.json"), fileLinks.resolve("adapter_config.json"));
        Files.createSymbolicLink(fileLinks.resolve("adapter_model.safetensors"), copy.resolve("adapter_model.safetensors"));
        try (LoraServer server = LoraServer.start(Fixtures.config().allowRuntimeLora(true).build())) {
            for (String path : new String[] {"../outside", "adapter-0/../../x", copy.toString(), "link-out", fileLinks.getFileName().toString(), dir.toString()}) {
                Fixtures.Reply r = Fixtures.post(server, "/v1/load_lora_adapter", "{\"lora_name\": \"evil\", \"lora_path\": " + HttpCall.JSON.valueToTree(path) + "}");
                assertError(r, 400, "invalid_request");
            }
            assertError(Fixtures.post(server, "/v1/load_lora_adapter", "{\"lora_name\": \"evil\", \"lora_path\": \"missing\"}"), 404, "not_found");
            assertError(Fixtures.post(server, "/v1/load_lora_adapter", "{\"lora_name\": \"../x\", \"lora_path\": \"adapter-0\"}"), 400, "invalid_request");
            assertError(Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("evil", "x", 2, "")), 404, "model_not_found");

            // a name loaded, used, replaced in place (the new weights from then on), and unloaded
            Fixtures.Reply load = Fixtures.post(server, "/v1/load_lora_adapter", "{\"lora_name\": \"fresh\", \"lora_path\": \"adapter-1\"}");
            assertEquals(200, load.status(), load.body());
            String prompt = "Call me Ishmael.";
            assertEquals(OpenAiApiTest.generate(Fixtures.adapters().get(1), prompt, 8),
                    Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("fresh", prompt, 8, "")).json().at("/choices/0/text").asText());
            CompletableFuture<Fixtures.Reply> during = CompletableFuture.supplyAsync(() ->
                    Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("fresh", prompt, 40, "")));
            assertEquals(200, Fixtures.post(server, "/v1/load_lora_adapter", Fixtures.adaptersDir().resolve("adapter-3").toString()
                    .transform(p -> "{\"lora_name\": \"fresh\", \"lora_path\": " + HttpCall.JSON.valueToTree(p) + "}")).status());
            String text = during.get().json().at("/choices/0/text").asText();
            assertTrue(text.equals(OpenAiApiTest.generate(Fixtures.adapters().get(1), prompt, 40))
                    || text.equals(OpenAiApiTest.generate(Fixtures.adapters().get(3), prompt, 40)), "one adapter or the other, never a mix: " + text);
            assertEquals(OpenAiApiTest.generate(Fixtures.adapters().get(3), prompt, 8),
                    Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("fresh", prompt, 8, "")).json().at("/choices/0/text").asText());
            assertTrue(Fixtures.get(server, "/v1/models").body().contains("\"fresh\""));
            assertEquals(200, Fixtures.post(server, "/v1/unload_lora_adapter", "{\"lora_name\": \"fresh\"}").status());
            assertError(Fixtures.post(server, "/v1/unload_lora_adapter", "{\"lora_name\": \"fresh\"}"), 404, "not_found");
            assertError(Fixtures.post(server, "/v1/completions", OpenAiApiTest.completionBody("fresh", "x", 2, "")), 404, "model_not_found");
        }
    }
}
