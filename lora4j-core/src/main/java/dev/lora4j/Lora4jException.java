package dev.lora4j;

/**
 * What lora4j throws for bad input: a missing or corrupt file, a wrong shape, an unknown name, a setting out of
 * range, a run that diverged ({@link dev.lora4j.train.TrainingDivergedException}). Its message says what was expected,
 * what was found and where (file, key, line, field), so a program or the CLI can show it alone, without a stack
 * trace; it names settings as Hugging Face and PEFT do, never a command-line flag. {@link IllegalArgumentException}
 * and {@link IllegalStateException} are only thrown for programming errors (a record built with values that
 * contradict each other in code, a model called with inconsistent sizes).
 */
public class Lora4jException extends RuntimeException {
    public Lora4jException(String message) {
        super(message);
    }

    public Lora4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
