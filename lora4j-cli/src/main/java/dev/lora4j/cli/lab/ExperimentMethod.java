package dev.lora4j.cli.lab;

import dev.lora4j.Lora4jException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;

/**
 * The ways {@code lora4j experiment} fine-tunes an encoder, each a set of {@code train} flags: the frozen encoder with a
 * trained head, LoRA and DoRA at a rank (PEFT's defaults: query, value; alpha = 2 × rank), and full fine-tuning.
 */
enum ExperimentMethod {
    HEAD("head", "frozen encoder + head"),
    LORA("lora", "LoRA"),
    DORA("dora", "DoRA"),
    FULL("full", "full fine-tuning");

    /** The name in {@code --methods} and {@code --lrs}. */
    final String flag;
    private final String label;

    ExperimentMethod(String flag, String label) {
        this.flag = flag;
        this.label = label;
    }

    /** LoRA and DoRA take a rank; the others ignore it. */
    boolean ranked() {
        return this == LORA || this == DORA;
    }

    /** The table's name of this method at {@code rank}: "LoRA r=8", "full fine-tuning". */
    String name(int rank) {
        return ranked() ? label + " r=" + rank : label;
    }

    /** The run directory's name: head-only, lora-r8, dora-r8, full. */
    String slug(int rank) {
        return switch (this) {
            case HEAD -> "head-only";
            case LORA -> "lora-r" + rank;
            case DORA -> "dora-r" + rank;
            case FULL -> "full";
        };
    }

    /** The {@code train} flags that select this method at {@code rank} (learning rate and length apart). */
    List<String> trainFlags(int rank) {
        return switch (this) {
            case HEAD -> List.of("--head-only");
            case LORA -> List.of("--rank", Integer.toString(rank));
            case DORA -> List.of("--rank", Integer.toString(rank), "--use-dora");
            case FULL -> List.of("--full");
        };
    }

    /** The method named {@code flag} (any case); an error lists the names. */
    static ExperimentMethod parse(String flag, String option) {
        for (ExperimentMethod m : values()) if (m.flag.equals(flag.trim().toLowerCase(Locale.ROOT))) return m;
        throw new Lora4jException(option + ": '" + flag + "' is not a method (expected one of "
                + String.join(", ", Arrays.stream(values()).map(m -> m.flag).toList()) + ")");
    }

    /** picocli's converter for {@code --methods}. */
    static final class Converter implements ITypeConverter<ExperimentMethod> {
        @Override
        public ExperimentMethod convert(String value) {
            return parse(value, "--methods");
        }
    }
}
