// One HTTP exchange as the handlers see it: a bounded, strictly parsed JSON body in, JSON or an error body out.
package dev.lora4j.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.lora4j.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Wraps an {@link HttpExchange}; every response goes through {@link #send} so its status is counted once. */
final class HttpCall {
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final HttpExchange exchange;
    private final int maxBodyBytes;
    private int status;

    HttpCall(HttpExchange exchange, int maxBodyBytes) {
        this.exchange = exchange;
        this.maxBodyBytes = maxBodyBytes;
    }

    HttpExchange exchange() {
        return exchange;
    }

    String method() {
        return exchange.getRequestMethod();
    }

    String path() {
        return exchange.getRequestURI().getPath();
    }

    /** The status sent (0 before a response started). */
    int status() {
        return status;
    }

    /** The body as a JSON object (whatever its Content-Type says, as curl -d sends it): too large → 413, not a JSON object → 400. */
    ObjectNode readJson() {
        byte[] body = readBody();
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JacksonException e) {
            throw new ApiError(ErrorKind.BAD_REQUEST, "the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ApiError(ErrorKind.BAD_REQUEST, "the body cannot be read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) throw new ApiError(ErrorKind.BAD_REQUEST, "the body is empty, expected a JSON object");
        if (!root.isObject()) throw new ApiError(ErrorKind.BAD_REQUEST, "the body is " + Json.describe(root) + ", expected a JSON object");
        return (ObjectNode) root;
    }

    private byte[] readBody() {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new ApiError(ErrorKind.BAD_REQUEST, "Content-Length is not a number: " + length);
            }
            if (n > maxBodyBytes) throw tooLarge();
        }
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(maxBodyBytes + 1);
            if (body.length > maxBodyBytes) throw tooLarge();
            return body;
        } catch (IOException e) {
            throw new ApiError(ErrorKind.BAD_REQUEST, "the body cannot be read: " + e.getMessage());
        }
    }

    private ApiError tooLarge() {
        return new ApiError(ErrorKind.TOO_LARGE, "the body is larger than the limit of " + maxBodyBytes + " bytes");
    }

    /** Sends {@code body} as the whole response. */
    void send(int status, JsonNode body) throws IOException {
        sendBytes(status, "application/json", HttpCall.JSON.writeValueAsBytes(body));
    }

    void sendText(int status, String contentType, String text) throws IOException {
        sendBytes(status, contentType, text.getBytes(StandardCharsets.UTF_8));
    }

    private void sendBytes(int status, String contentType, byte[] bytes) throws IOException {
        this.status = status;
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The OpenAI error body of {@code error}. */
    static ObjectNode errorBody(ApiError error) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", error.getMessage());
        e.put("type", error.kind().type());
        if (error.param() == null) e.putNull("param");
        else e.put("param", error.param());
        e.put("code", error.kind().code());
        return root;
    }

    void sendError(ApiError error) throws IOException {
        if (error.kind() == ErrorKind.METHOD_NOT_ALLOWED) exchange.getResponseHeaders().set("Allow", "GET, POST");
        if (error.kind() == ErrorKind.UNAUTHORIZED) exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        send(error.kind().status(), errorBody(error));
    }

    /** Starts a server-sent event stream (status 200); the response is open until {@link EventStream#close}. */
    EventStream startEvents() throws IOException {
        this.status = 200;
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        return new EventStream(exchange.getResponseBody());
    }
}
