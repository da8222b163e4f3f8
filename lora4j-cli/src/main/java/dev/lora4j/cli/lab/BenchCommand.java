package dev.lora4j.cli.lab;

import picocli.CommandLine.Command;

/** {@code lora4j bench}: the benchmarks compared with shared/bench/torch_reference.py. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchTrainCommand.class, BenchGenerateCommand.class, BenchGemmCommand.class},
        description = "Benchmarks that print one JSON line, comparable with the PyTorch reference.")
public final class BenchCommand {
}
