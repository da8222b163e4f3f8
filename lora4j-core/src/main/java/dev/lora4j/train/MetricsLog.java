package dev.lora4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code metrics.jsonl}: one JSON object per line (step, loss, lr, grad norm, tokens/s, elapsed; eval lines
 * carry eval_loss). On resume, lines after the checkpoint's step are dropped (the file replaced atomically) so the
 * file tells one story.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    private MetricsLog(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Opens {@code file} fresh, or, when {@code keepUpToStep} ≥ 0, keeps its lines with step ≤ that. */
    public static MetricsLog open(Path file, int keepUpToStep) {
        try {
            if (keepUpToStep >= 0 && Files.exists(file)) {
                List<String> kept = Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                        .filter(l -> !l.isBlank() && stepOf(l) <= keepUpToStep).toList();
                AtomicFiles.writeString(file, kept.stream().map(l -> l + "\n").collect(Collectors.joining()));
            } else {
                Files.deleteIfExists(file);
            }
            return new MetricsLog(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static int stepOf(String line) {
        try {
            return JSON.readTree(line).path("step").asInt(Integer.MAX_VALUE);
        } catch (IOException e) {
            return Integer.MAX_VALUE;
        }
    }

    /** Appends one record and flushes, so a killed run keeps every line written so far. */
    public void write(Map<String, Object> record) {
        try {
            out.write(JSON.writeValueAsString(record));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot close: " + e.getMessage(), e);
        }
    }
}
