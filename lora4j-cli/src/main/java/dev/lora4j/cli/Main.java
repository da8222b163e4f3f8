package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.kernels.KernelProvider;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code lora4j} command: subcommands for each job. Bad input ends with one line naming the file and
 * key, exit status 1 and no stack trace unless {@code --verbose}; usage errors exit with 2.
 */
@Command(name = "lora4j", mixinStandardHelpOptions = true, version = "lora4j 0.1.0",
        description = "LoRA fine-tuning of Hugging Face transformers on the JVM.",
        subcommands = {QuickstartCommand.class, InspectCommand.class, TrainCommand.class, EvalCommand.class, MergeCommand.class, GenerateCommand.class, BenchCommand.class,
                ClassifyCommand.class, EmbedCommand.class, AnalyzeCommand.class, ExperimentCommand.class, InitCommand.class,
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
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out).setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            err.println("error: " + message(e));
            if (verbose) e.printStackTrace(err);
            else if (!(e instanceof Lora4jException)) err.println("(run with --verbose for the stack trace)");
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }

    private static String message(Throwable e) {
        if (e instanceof Lora4jException || e instanceof IllegalArgumentException) return e.getMessage();
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
