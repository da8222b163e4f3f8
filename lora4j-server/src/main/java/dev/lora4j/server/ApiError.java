// A request the server refuses: becomes an OpenAI-style error body {"error": {"message", "type", "param", "code"}}.
package dev.lora4j.server;

/** Thrown anywhere while handling a request; the handler turns it into the response. No stack trace is ever sent. */
public final class ApiError extends RuntimeException {
    private final ErrorKind kind;
    private final String param;

    public ApiError(ErrorKind kind, String message) {
        this(kind, message, null);
    }

    /** {@code param}: the request field at fault, or null. */
    public ApiError(ErrorKind kind, String message, String param) {
        super(message, null, false, false);
        this.kind = kind;
        this.param = param;
    }

    public ErrorKind kind() {
        return kind;
    }

    public String param() {
        return param;
    }
}
