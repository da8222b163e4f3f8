// The errors the server answers with, as OpenAI's API types and codes them.
package dev.lora4j.server;

/** HTTP status, OpenAI error {@code type} and {@code code} of each kind of failure. */
public enum ErrorKind {
    BAD_REQUEST(400, "invalid_request_error", "invalid_request"),
    CONTEXT_LENGTH(400, "invalid_request_error", "context_length_exceeded"),
    UNAUTHORIZED(401, "invalid_request_error", "invalid_api_key"),
    NOT_FOUND(404, "invalid_request_error", "not_found"),
    MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
    METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed"),
    TOO_LARGE(413, "invalid_request_error", "request_too_large"),
    OVERLOADED(429, "rate_limit_error", "rate_limit_exceeded"),
    INTERNAL(500, "server_error", "internal_error"),
    SHUTTING_DOWN(503, "server_error", "service_unavailable");

    private final int status;
    private final String type;
    private final String code;

    ErrorKind(int status, String type, String code) {
        this.status = status;
        this.type = type;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }
}
