package dev.lora4j.cli;

import dev.lora4j.cli.lab.BenchCommand;
import dev.lora4j.cli.lab.ExperimentCommand;
import dev.lora4j.Lora4jException;
import dev.lora4j.kernels.KernelProvider;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code lora4j} command: subcommands for each job. Bad input ends with one line naming the file and
 * key, exit status 1 and no stack trace unless {@code --verbose}; usage errors exit with 2; running out of memory
 * ends with one line saying how to raise the heap. Control characters in messages are printed escaped.
 */
@Command(name = "lora4j", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "LoRA fine-tuning of Hugging Face transformers on the JVM.",
        subcommands = {QuickstartCommand.class, InspectCommand.class, TrainCommand.class, EvalCommand.class, MergeCommand.class, ToGgufCommand.class,
                GenerateCommand.class, BenchCommand.class, ClassifyCommand.class, EmbedCommand.class, ServeCommand.class, AnalyzeCommand.class,
                ExperimentCommand.class, InitCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", description = "Show stack traces on errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (try: lora4j inspect MODEL_DIR)");
    }

    public static void main(String[] args) {
        KernelProvider.get();   // its one log line comes first, not in the middle of streamed output
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the CLI with the given streams; returns the exit status. Used by tests. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return execute(new CommandLine(new Main()), out, err, args);
    }

    /**
     * Runs {@code cli} with lora4j's error handling: bad input and failures end in one "error: " line (control characters
     * escaped), usage errors in the message and the usage, and running out of memory anywhere in a command in one line
     * with the heap advice, not a stack trace.
     */
    static int execute(CommandLine cli, PrintWriter out, PrintWriter err, String... args) {
        cli.setOut(out).setErr(err);
        cli.setParameterExceptionHandler((e, arguments) -> {
            CommandLine command = e.getCommandLine();
            command.getErr().println(command.getColorScheme().errorText(printable(e.getMessage())));
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, command.getErr())) command.usage(command.getErr(), command.getColorScheme());
            return command.getCommandSpec().exitCodeOnInvalidInput();
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            err.println("error: " + printable(message(e)));
            if (verbose) e.printStackTrace(err);
            else if (!(e instanceof Lora4jException)) err.println("(run with --verbose for the stack trace)");
            err.flush();
            return 1;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            err.println("error: " + outOfMemory(e));
            err.flush();
            return 1;
        }
    }

    private static String message(Throwable e) {
        if (e instanceof Lora4jException || e instanceof IllegalArgumentException) return e.getMessage();
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /** One line for an OutOfMemoryError: what ran out, the heap's limit, and how ./lora4j raises it. */
    static String outOfMemory(OutOfMemoryError e) {
        String what = e.getMessage() == null ? "Java heap space" : e.getMessage();
        if (what.contains("exceeds VM limit")) {
            return "out of memory (" + what + "): the input asks for a single array larger than Java allows; check the sizes it gives";
        }
        return String.format("out of memory (%s; the heap may grow to %.1f GB): raise the limit, e.g. LORA4J_JAVA_OPTS=-Xmx16g ./lora4j ..."
                + " (java -Xmx16g -jar lora4j.jar ... without the launcher), or make the command hold less at once (--batch-size, --seq-len)",
                printable(what), Runtime.getRuntime().maxMemory() / 1e9);
    }

    /**
     * {@code message} safe to print on a terminal: control characters, which a file name or tensor key can carry (an
     * ANSI or OSC escape sequence, a NUL), are written as {@code \x1b}; line breaks between lines and tabs are kept,
     * and C1 controls (U+0080 to U+009F) and bidirectional overrides are written as a backslash, "u" and four hex digits.
     */
    static String printable(String message) {
        if (message == null) return "";
        StringBuilder sb = new StringBuilder(message.length());
        message.codePoints().forEach(c -> {
            if (c == '\n' || c == '\t') sb.append((char) c);
            else if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", c));
            else if ((c >= 0x80 && c < 0xa0) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) sb.append(String.format("\\u%04x", c));
            else sb.appendCodePoint(c);
        });
        return sb.toString();
    }
}
