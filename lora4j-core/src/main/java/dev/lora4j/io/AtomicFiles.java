package dev.lora4j.io;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes that never leave a half-written result: a file is written beside its target and renamed over
 * it; a directory is filled under a temporary name and swapped in (the previous one kept as
 * {@code .NAME.old} until the swap is done, so one of the two is complete at every moment).
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    public static void writeString(Path file, String content) {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new Lora4jException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** A fresh empty directory beside {@code target} to fill before {@link #commitDirectory}. */
    public static Path stagingDirectory(Path target) {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            deleteRecursively(tmp);
            Files.createDirectories(tmp);
            return tmp;
        } catch (IOException e) {
            throw new Lora4jException(tmp + ": cannot create: " + e.getMessage(), e);
        }
    }

    /** Replaces {@code target} by the filled {@code staging} directory. */
    public static void commitDirectory(Path staging, Path target) {
        Path old = previous(target);
        try {
            deleteRecursively(old);
            if (Files.exists(target)) Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            deleteRecursively(old);
        } catch (FileAlreadyExistsException e) {
            throw new Lora4jException(target + ": cannot replace: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new Lora4jException(target + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Where {@link #commitDirectory} parks the previous version during the swap. */
    public static Path previous(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".old");
    }

    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the target was never touched
        }
    }
}
