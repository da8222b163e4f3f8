// Shutting down in two steps: drain() lets the engine finish what it accepted, and the model stays loaded until close(),
// because a stream's handler still decodes the tokens queued for it after the engine has stopped (SIGTERM in CI cut a
// stream when draining also released the tokenizer).
package dev.lora4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.lora4j.generate.Sampler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DrainTest {
    @Test
    void afterDrainTheQueuedTokensStillDecodeUntilClose() {
        GenerationService service = new GenerationService(ServeConfig.builder(Fixtures.model()).build(), new Metrics(() -> 0));
        try {
            int[] prompt = service.encode("Mr. Speaker");
            Generation g = service.submit(prompt, null, new Sampler(0f, 0, 1f, 0), 12);
            service.drain(Duration.ofSeconds(60));               // the engine ran g to its end; nobody read its events yet
            List<Integer> ids = new ArrayList<>();
            Generation.Event e;
            while ((e = g.events.poll()) instanceof Generation.Token t) ids.add(t.id());
            assertInstanceOf(Generation.Finished.class, e, "the engine finished the request it had accepted");
            assertEquals(12, ids.size());
            String text = service.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            String reference = OpenAiApiTest.generate(null, "Mr. Speaker", 12);
            assertEquals(reference, text, "the handler decodes after the drain what `generate` prints");
        } finally {
            service.close();
        }
    }
}
