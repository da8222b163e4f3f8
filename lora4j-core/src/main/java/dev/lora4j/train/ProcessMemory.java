package dev.lora4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalDouble;

/** The peak resident set of this whole process as the OS counts it (Linux's VmHWM), what benchmarks and runs report. */
public final class ProcessMemory {
    private ProcessMemory() {}

    /** VmHWM in MB, or empty where /proc/self/status does not exist (not Linux). */
    public static OptionalDouble peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return OptionalDouble.of(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0);
            }
        } catch (IOException | NumberFormatException e) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.empty();
    }
}
