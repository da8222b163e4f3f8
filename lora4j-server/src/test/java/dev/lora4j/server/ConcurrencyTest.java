// Continuous batching under load: 16 greedy requests sent at once, spread over four adapters and the base, decode in
// shared batches and still get exactly the text of 16 separate `generate` runs.
package dev.lora4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ConcurrencyTest {
    @Test
    void sixteenConcurrentGreedyRequestsOverFourAdaptersAndTheBaseGetWhatSeparateRunsGet() throws Exception {
        String[] prompts = {"Call me Ishmael.", "The whale", "It was the best of times", "Mr. Speaker, the state of the union"};
        int n = 16;
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path adapter = i % 5 == 4 ? null : Fixtures.adapters().get(i % 5);
            expected.add(OpenAiApiTest.generate(adapter, prompts[i % prompts.length], 10 + i));
        }
        try (LoraServer server = LoraServer.start(Fixtures.config().maxBatch(16).maxLoras(4).maxQueue(16).build());
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<JsonNode>> replies = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String model = i % 5 == 4 ? server.baseModelId() : "a" + (i % 5);
                String body = OpenAiApiTest.completionBody(model, prompts[i % prompts.length], 10 + i, "");
                replies.add(pool.submit(() -> {
                    go.await();
                    Fixtures.Reply r = Fixtures.post(server, "/v1/completions", body);
                    assertEquals(200, r.status(), r.body());
                    return r.json();
                }));
            }
            go.countDown();
            for (int i = 0; i < n; i++) assertEquals(expected.get(i), replies.get(i).get().at("/choices/0/text").asText(), "request " + i);
            String metrics = Fixtures.get(server, "/metrics").body();
            long single = count(metrics, "lora4j_batch_size_bucket\\{le=\"1\"\\} (\\d+)"), steps = count(metrics, "lora4j_batch_size_count (\\d+)");
            assertTrue(single < steps, "some steps decoded several requests together:\n" + metrics);
        }
    }

    static long count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex);
        return Long.parseLong(m.group(1));
    }
}
