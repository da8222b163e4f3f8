// Checks that an input path is what lora4j is about to read, before it is opened: a FIFO opened for reading
// blocks until a writer appears (forever, for a hostile or mistaken path), so every input is refused unless it
// is a regular file (or a directory where one is expected), and each other kind is reported as what it is.
package dev.lora4j.io;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/** Both checks follow symbolic links, as opening the path would; a dangling link or a link loop is named as such. */
public final class InputFile {
    private InputFile() {}

    /**
     * Returns {@code file} if it is a regular file (or a link to one); else a {@link Lora4jException} saying what it
     * is: "not found", a directory, a FIFO, a device, a socket, a dangling link or a link loop. {@code expected}
     * completes "expected ..." in the message ("a .safetensors file").
     */
    public static Path requireRegular(Path file, String expected) {
        BasicFileAttributes a = attributes(file);
        if (a.isRegularFile()) return file;
        if (a.isDirectory()) throw new Lora4jException(file + ": is a directory, expected " + expected);
        throw new Lora4jException(file + ": is " + special(file) + ", not a regular file (expected " + expected
                + "; reading it could block forever)");
    }

    /** Returns {@code dir} if it is a directory (or a link to one); else a {@link Lora4jException} saying what it is. */
    public static Path requireDirectory(Path dir, String expected) {
        BasicFileAttributes a = attributes(dir);
        if (a.isDirectory()) return dir;
        throw new Lora4jException(dir + ": is " + (a.isRegularFile() ? "a file" : special(dir)) + ", expected " + expected);
    }

    private static BasicFileAttributes attributes(Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            if (Files.isSymbolicLink(path)) throw new Lora4jException(path + ": is a symbolic link to " + linkTarget(path) + ", which does not exist", e);
            throw new Lora4jException(path + ": not found", e);
        } catch (FileSystemException e) {
            String reason = e.getReason() != null ? e.getReason() : e.getMessage();
            if (Files.isSymbolicLink(path) && reason != null && reason.contains("levels of symbolic links")) {
                throw new Lora4jException(path + ": is a symbolic link loop (too many levels of symbolic links)", e);
            }
            throw new Lora4jException(path + ": cannot read: " + reason, e);
        } catch (IOException e) {
            throw new Lora4jException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** What a path that is neither a regular file nor a directory is, from its POSIX mode where the platform gives it. */
    private static String special(Path path) {
        try {
            int type = (Integer) Files.getAttribute(path, "unix:mode") & 0170000;
            return switch (type) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a special file (FIFO, device or socket)";
        }
    }

    private static String linkTarget(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "a path";
        }
    }
}
