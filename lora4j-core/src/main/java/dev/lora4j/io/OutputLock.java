package dev.lora4j.io;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Objects;

/**
 * An exclusive lock on an output, held by one process at a time: an OS file lock on {@code .NAME.lock} beside the
 * output, which the OS releases when the process dies (kill -9 included), holding the holder's pid and start time so a
 * second process can name it. The file is removed on release; a claimant checks that the file it locked is still the
 * one at that path, so a removal racing with its open cannot hand the lock to two processes.
 */
final class OutputLock implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** Locks {@code output} (an absolute path) or fails at once naming the process that holds it. */
    static OutputLock acquire(Path output) {
        Path file = output.resolveSibling("." + output.getFileName() + ".lock");
        for (int attempt = 0; attempt < 3; attempt++) {
            FileChannel channel = null;
            try {
                Files.createDirectories(file.getParent());
                channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                Object key = fileKey(file);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;                                   // held by this very process
                }
                if (lock == null) {
                    String holder = holder(channel);
                    channel.close();
                    throw new Lora4jException(output + ": is in use by another lora4j run" + (holder.isEmpty() ? "" : " (" + holder + ")")
                            + "; wait for it to finish or choose another output (lock: " + file + ")");
                }
                if (key == null || !Objects.equals(key, fileKey(file))) {   // removed and re-created meanwhile: try again
                    channel.close();
                    continue;
                }
                String me = "pid " + ProcessHandle.current().pid() + ", since " + Instant.now();
                channel.truncate(0);
                channel.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
                return new OutputLock(file, channel, lock);
            } catch (IOException e) {
                closeQuietly(channel);
                throw new Lora4jException(file + ": cannot lock the output: " + e.getMessage(), e);
            }
        }
        throw new Lora4jException(output + ": cannot lock the output: its lock file " + file + " keeps being replaced");
    }

    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(200);
        channel.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(file);
            lock.release();
        } catch (IOException e) {
            // the OS releases the lock with the channel below
        } finally {
            closeQuietly(channel);
        }
    }

    private static void closeQuietly(FileChannel c) {
        try {
            if (c != null) c.close();
        } catch (IOException ignored) {
            // nothing was written through it that matters
        }
    }
}
