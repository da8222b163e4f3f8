package dev.lora4j.cli.lab;

import java.util.ArrayList;
import java.util.List;

/**
 * One run of {@code lora4j experiment}: a method at a rank (a configuration of the table) with one point of the
 * hyper-parameter grid. When the grid holds one point the run directory is the configuration's own ({@code lora-r8});
 * otherwise the point is part of its name ({@code lora-r8-lr2e-3-e2}).
 */
record ExperimentCandidate(ExperimentMethod method, int rank, String lr, int epochs, boolean inGrid) {
    /** The configuration's name in the tables: "LoRA r=8". */
    String name() {
        return method.name(rank);
    }

    /** The configuration's key: runs with the same group compete on the validation split. */
    String group() {
        return method.slug(rank);
    }

    /** The run directory under {@code runs/}. */
    String slug() {
        return inGrid ? group() + "-lr" + lr + "-e" + epochs : group();
    }

    /** What the output calls this run: the name, with its grid point when there is a grid. */
    String label() {
        return inGrid ? name() + " (lr " + lr + ", " + epochs + (epochs == 1 ? " epoch)" : " epochs)") : name();
    }

    /** The {@code train} flags of this run's method, learning rate and epochs. */
    List<String> trainFlags() {
        List<String> f = new ArrayList<>(method.trainFlags(rank));
        f.addAll(List.of("--lr", lr, "--epochs", Integer.toString(epochs)));
        return f;
    }
}
