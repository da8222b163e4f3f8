// Server-sent events as OpenAI streams them: each chunk a "data: {json}" event, then "data: [DONE]".
package dev.lora4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Each event is flushed at once; an {@link IOException} means the client went away. */
final class EventStream implements AutoCloseable {
    private final OutputStream out;

    EventStream(OutputStream out) {
        this.out = out;
    }

    void send(JsonNode chunk) throws IOException {
        write("data: " + HttpCall.JSON.writeValueAsString(chunk) + "\n\n");
    }

    void done() throws IOException {
        write("data: [DONE]\n\n");
    }

    private void write(String event) throws IOException {
        out.write(event.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
