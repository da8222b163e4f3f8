// The OpenAI endpoints over plain HTTP against independent references: greedy completions and chats give exactly what
// `lora4j generate` (core's TextGenerator: the adapter injected, one sequence) gives for the same prompt and adapter;
// streams carry the same text as server-sent events ending in [DONE]; /v1/models names adapters as vLLM does.
package dev.lora4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.inference.TextGenerator;
import dev.lora4j.tokenizer.ChatTemplate;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OpenAiApiTest {
    private static LoraServer server;

    @BeforeAll
    static void start() {
        server = LoraServer.start(Fixtures.config().build());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** What `lora4j generate --temperature 0` prints after the prompt. */
    static String generate(Path adapter, String prompt, int maxTokens) {
        try (TextGenerator g = TextGenerator.load(Fixtures.model(), adapter)) {
            return g.generate(prompt, GenerationConfig.greedy(maxTokens));
        }
    }

    static String completionBody(String model, String prompt, int maxTokens, String extra) {
        return "{\"model\": \"" + model + "\", \"prompt\": " + HttpCall.JSON.valueToTree(prompt) + ", \"max_tokens\": " + maxTokens
                + ", \"temperature\": 0" + extra + "}";
    }

    @Test
    void modelsListsTheBaseAndEachAdapterWithParentAndRoot() {
        JsonNode list = Fixtures.get(server, "/v1/models").json();
        assertEquals("list", list.get("object").asText());
        JsonNode data = list.get("data");
        assertEquals(5, data.size());
        assertEquals("gpt2-tiny-chat", data.get(0).get("id").asText());
        assertTrue(data.get(0).get("parent").isNull());
        for (int i = 0; i < 4; i++) {
            JsonNode card = data.get(i + 1);
            assertEquals("a" + i, card.get("id").asText());
            assertEquals("model", card.get("object").asText());
            assertEquals("gpt2-tiny-chat", card.get("parent").asText());
            assertEquals(Fixtures.adapters().get(i).toAbsolutePath().normalize().toString(), card.get("root").asText());
        }
    }

    @Test
    void greedyCompletionsAreWhatGenerateGivesForTheBaseAndEveryAdapter() {
        String prompt = "Call me Ishmael. Some years ago";
        Set<String> distinct = new HashSet<>();
        List<String> models = List.of("gpt2-tiny-chat", "a0", "a1", "a2", "a3");
        for (int i = 0; i < models.size(); i++) {
            Path adapter = i == 0 ? null : Fixtures.adapters().get(i - 1);
            Fixtures.Reply r = Fixtures.post(server, "/v1/completions", completionBody(models.get(i), prompt, 14, ""));
            assertEquals(200, r.status(), r.body());
            JsonNode body = r.json();
            String expected = generate(adapter, prompt, 14);
            assertEquals(expected, body.at("/choices/0/text").asText(), models.get(i));
            assertEquals("text_completion", body.get("object").asText());
            assertEquals(models.get(i), body.get("model").asText());
            assertEquals("length", body.at("/choices/0/finish_reason").asText());
            assertEquals(14, body.at("/usage/completion_tokens").asInt());
            assertEquals(body.at("/usage/prompt_tokens").asInt() + 14, body.at("/usage/total_tokens").asInt());
            distinct.add(expected);
        }
        assertTrue(distinct.size() >= 3, "the adapters change what is generated: " + distinct);
    }

    @Test
    void chatGoesThroughTheChatTemplate() {
        List<Map<String, String>> messages = List.of(Map.of("role", "system", "content", "You are terse."),
                Map.of("role", "user", "content", "What of the whale?"));
        String rendered = ChatTemplate.load(Fixtures.model()).render(messages, true);
        String body = "{\"model\": \"a1\", \"messages\": " + HttpCall.JSON.valueToTree(messages) + ", \"max_tokens\": 10, \"temperature\": 0}";
        Fixtures.Reply r = Fixtures.post(server, "/v1/chat/completions", body);
        assertEquals(200, r.status(), r.body());
        JsonNode json = r.json();
        assertEquals("chat.completion", json.get("object").asText());
        assertEquals("assistant", json.at("/choices/0/message/role").asText());
        assertEquals(generate(Fixtures.adapters().get(1), rendered, 10), json.at("/choices/0/message/content").asText());
    }

    /** The data lines of an event stream, [DONE] included. */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.isBlank()) continue;
            assertTrue(block.startsWith("data: "), block);
            out.add(block.substring(6));
        }
        return out;
    }

    @Test
    void streamsCarryTheSameTextThenUsageThenDone() throws Exception {
        String prompt = "The whale";
        Fixtures.Reply r = Fixtures.post(server, "/v1/completions",
                completionBody("a2", prompt, 9, ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, r.status(), r.body());
        List<String> events = events(r.body());
        assertEquals("[DONE]", events.getLast());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String e : events.subList(0, events.size() - 2)) {
            JsonNode chunk = HttpCall.JSON.readTree(e);
            text.append(chunk.at("/choices/0/text").asText());
            if (!chunk.at("/choices/0/finish_reason").isNull()) finish = chunk.at("/choices/0/finish_reason").asText();
        }
        assertEquals(generate(Fixtures.adapters().get(2), prompt, 9), text.toString());
        assertEquals("length", finish);
        JsonNode usage = HttpCall.JSON.readTree(events.get(events.size() - 2));
        assertEquals(0, usage.get("choices").size());
        assertEquals(9, usage.at("/usage/completion_tokens").asInt());

        String chat = "{\"model\": \"gpt2-tiny-chat\", \"stream\": true, \"temperature\": 0, \"max_tokens\": 6, \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hello\"}]}]}";
        List<String> chunks = events(Fixtures.post(server, "/v1/chat/completions", chat).body());
        JsonNode first = HttpCall.JSON.readTree(chunks.getFirst());
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.at("/choices/0/delta/role").asText());
        StringBuilder content = new StringBuilder();
        for (String e : chunks.subList(0, chunks.size() - 1)) content.append(HttpCall.JSON.readTree(e).at("/choices/0/delta/content").asText(""));
        String rendered = ChatTemplate.load(Fixtures.model()).render(List.of(Map.of("role", "user", "content", "Hello")), true);
        assertEquals(generate(null, rendered, 6), content.toString());
    }

    @Test
    void aStopStringEndsTheTextBeforeIt() {
        String prompt = "Call me Ishmael. Some years ago";
        String full = generate(Fixtures.adapters().getFirst(), prompt, 20);
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        assertNotEquals("", stop.trim());
        JsonNode r = Fixtures.post(server, "/v1/completions", completionBody("a0", prompt, 20, ", \"stop\": [" + HttpCall.JSON.valueToTree(stop) + "]")).json();
        assertEquals(full.substring(0, full.indexOf(stop)), r.at("/choices/0/text").asText());
        assertEquals("stop", r.at("/choices/0/finish_reason").asText());
    }

    @Test
    void healthAndMetrics() {
        assertEquals(200, Fixtures.get(server, "/health").status());
        Fixtures.post(server, "/v1/completions", completionBody("a3", "Hi", 3, ""));
        String metrics = Fixtures.get(server, "/metrics").body();
        for (String name : List.of("lora4j_requests_total{endpoint=\"/v1/completions\",status=\"200\"}", "lora4j_generation_tokens_total",
                "lora4j_prompt_tokens_total", "lora4j_queue_depth", "lora4j_running_requests", "lora4j_batch_size_bucket",
                "lora4j_time_to_first_token_seconds_count", "lora4j_time_per_output_token_seconds_sum", "lora4j_adapters_loaded 4")) {
            assertTrue(metrics.contains(name), name + " in\n" + metrics);
        }
    }
}
