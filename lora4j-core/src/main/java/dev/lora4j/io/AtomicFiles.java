package dev.lora4j.io;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes that never leave a half-written result: a file is written beside its target, synced and renamed over
 * it; a directory is filled under a temporary name, synced and swapped in (the previous one kept as
 * {@code .NAME.old} until the swap is done, so one of the two is complete at every moment). Every rename is
 * followed by a sync of the directory that holds it, so it survives a power cut as well as a kill.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    public static void writeString(Path file, String content) {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) c.write(b);
                c.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            fsyncDirectory(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new Lora4jException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Replaces {@code target} by the filled, synced {@code staging} directory. */
    public static void commitDirectory(Path staging, Path target) {
        Path old = previous(target);
        try {
            deleteRecursively(old);
            if (Files.exists(target)) Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            fsyncDirectory(target.toAbsolutePath().getParent());
            deleteRecursively(old);
        } catch (FileAlreadyExistsException e) {
            throw new Lora4jException(target + ": cannot replace: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new Lora4jException(target + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Forces a file's content to the disk. */
    public static void fsyncFile(Path file) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    /** Forces a directory's entries (names created, renamed, deleted in it) to the disk. */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException e) {
            if (!System.getProperty("os.name", "").startsWith("Windows")) throw e;   // Windows cannot open a directory
        }
    }

    /** Syncs every file and directory under {@code dir}, then {@code dir} itself. */
    public static void fsyncTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) fsyncDirectory(p);
                else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) fsyncFile(p);
            }
        }
    }

    /** Where {@link #commitDirectory} parks the previous version during the swap. */
    private static Path previous(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".old");
    }

    /** Deletes a file or a directory tree; symbolic links are deleted, never followed. */
    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
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
