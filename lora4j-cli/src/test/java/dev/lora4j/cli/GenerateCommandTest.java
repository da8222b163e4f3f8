// `lora4j generate` as a user runs it: the prompt then streamed text, the same text for the same seed,
// and one-line errors (exit 1) for bad settings. Runs the command on its own, as Main would.
package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class GenerateCommandTest {
    private static final Path TINY = Path.of(System.getProperty("lora4j.testdata", "../testdata")).resolve("gpt2-tiny");

    record Run(int status, String out, String err) {}

    /** Executes the command with Main's error handling: one "error: ..." line and status 1 for bad input. */
    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        PrintWriter errWriter = new PrintWriter(err, true);
        CommandLine cli = new CommandLine(new GenerateCommand()).setOut(new PrintWriter(out, true)).setErr(errWriter);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            errWriter.println("error: " + e.getMessage());
            return e instanceof Lora4jException ? 1 : 3;
        });
        int status = cli.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void printsThePromptThenGeneratedTextReproduciblyFromTheSeed() {
        String[] args = {"--model", TINY.toString(), "--prompt", "Call me Ishmael.", "--max-new-tokens", "12",
                "--temperature", "0.8", "--top-k", "50", "--top-p", "0.9", "--seed", "42"};
        Run r = run(args);
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("Call me Ishmael.") && r.out().endsWith(System.lineSeparator()), r.out());
        assertTrue(r.out().strip().length() > "Call me Ishmael.".length(), "some text was generated: " + r.out());
        assertTrue(r.err().contains("tokens/s"), r.err());
        assertEquals(r.out(), run(args).out(), "same seed, same text");
        args[args.length - 1] = "43";
        assertNotEquals(r.out(), run(args).out(), "another seed, other text");
    }

    @Test
    void greedyNeedsNoSeed() {
        Run a = run("--model", TINY.toString(), "--prompt", "Hello", "--temperature", "0", "--max-new-tokens", "5", "--seed", "1");
        Run b = run("--model", TINY.toString(), "--prompt", "Hello", "--temperature", "0", "--max-new-tokens", "5", "--seed", "2");
        assertEquals(0, a.status(), a.err());
        assertEquals(a.out(), b.out());
    }

    @Test
    void badSettingsEndWithAMessageAndNonZeroStatus() {
        Run topP = run("--model", TINY.toString(), "--prompt", "Hello", "--top-p", "1.5");
        assertEquals(1, topP.status());
        assertTrue(topP.err().startsWith("error: ") && topP.err().contains("top-p") && topP.err().contains("1.5"), topP.err());
        assertEquals("", topP.out(), "nothing printed before the error");

        Run temperature = run("--model", TINY.toString(), "--prompt", "Hello", "--temperature", "-1");
        assertEquals(1, temperature.status());
        assertTrue(temperature.err().contains("temperature"), temperature.err());

        Run empty = run("--model", TINY.toString(), "--prompt", "");
        assertEquals(1, empty.status());
        assertTrue(empty.err().contains("--prompt is empty"), empty.err());

        Run tooLong = run("--model", TINY.toString(), "--prompt", "word ".repeat(200));
        assertEquals(1, tooLong.status());
        assertTrue(tooLong.err().contains("n_positions"), tooLong.err());
        assertEquals("", tooLong.out(), "nothing printed before the error");

        Run missing = run("--prompt", "Hello");
        assertEquals(2, missing.status(), "usage error");
        assertFalse(missing.err().isEmpty());
    }
}
