package dev.lora4j;

/**
 * The one exception lora4j throws for bad input: a missing or corrupt file, a wrong shape, an
 * unknown name. Its message says what was expected, what was found and where (file, key, line),
 * so the CLI can print it alone, without a stack trace.
 */
public class Lora4jException extends RuntimeException {
    public Lora4jException(String message) {
        super(message);
    }

    public Lora4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
