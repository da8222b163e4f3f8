// langchain4j's OpenAI client (what Java applications call models with) against lora4j serve, unchanged: chat,
// streaming chat, completions and embeddings, each checked against core's own result for the same input.
package dev.lora4j.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.openai.OpenAiLanguageModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.lora4j.inference.TextEmbedder;
import dev.lora4j.tokenizer.ChatTemplate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class Langchain4jClientTest {
    private static String rendered(String user) {
        return ChatTemplate.load(Fixtures.model()).render(List.of(Map.of("role", "user", "content", user)), true);
    }

    @Test
    void chatStreamingAndCompletionsThroughLangchain4j() throws Exception {
        try (LoraServer server = LoraServer.start(Fixtures.config().apiKey("k").build())) {
            String url = "http://127.0.0.1:" + server.port() + "/v1";
            OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(url).apiKey("k").modelName("a2").temperature(0.0).maxTokens(12).build();
            assertEquals(OpenAiApiTest.generate(Fixtures.adapters().get(2), rendered("Where is the whale?"), 12), chat.chat("Where is the whale?"));

            OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(url).apiKey("k").modelName("a0")
                    .temperature(0.0).maxTokens(9).build();
            StringBuilder pieces = new StringBuilder();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            streaming.chat("Tell me of the sea.", new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partial) {
                    pieces.append(partial);
                }

                @Override
                public void onCompleteResponse(ChatResponse response) {
                    done.complete(response);
                }

                @Override
                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
            ChatResponse response = done.get(60, TimeUnit.SECONDS);
            String expected = OpenAiApiTest.generate(Fixtures.adapters().getFirst(), rendered("Tell me of the sea."), 9);
            assertEquals(expected, pieces.toString());
            assertEquals(expected, response.aiMessage().text());

            OpenAiLanguageModel completions = OpenAiLanguageModel.builder().baseUrl(url).apiKey("k").modelName(server.baseModelId())
                    .temperature(0.0).build();
            String text = completions.generate("Call me Ishmael.").content();
            assertEquals(OpenAiApiTest.generate(null, "Call me Ishmael.", 16), text);   // OpenAI's default max_tokens: 16
        }
    }

    @Test
    void embeddingsThroughLangchain4j() {
        try (LoraServer server = LoraServer.start(ServeConfig.builder(Fixtures.testdata("bert-tiny")).port(0).build());
             TextEmbedder reference = TextEmbedder.load(Fixtures.testdata("bert-tiny"))) {
            OpenAiEmbeddingModel model = OpenAiEmbeddingModel.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                    .apiKey("unused").modelName("bert-tiny").build();
            float[] got = model.embed("a nice day, superb time").content().vector();
            assertArrayEquals(reference.embed("a nice day, superb time"), got);
            var many = model.embedAll(List.of(dev.langchain4j.data.segment.TextSegment.from("one"), dev.langchain4j.data.segment.TextSegment.from("two words")));
            assertEquals(2, many.content().size());
            assertArrayEquals(reference.embed("two words"), many.content().get(1).vector());
            assertTrue(many.tokenUsage().inputTokenCount() > 0);
        }
    }
}
