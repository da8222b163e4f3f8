package dev.lora4j.io;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Short content fingerprints that a checkpoint stores so that a resume can tell whether its inputs changed: the whole
 * content of a data file (SHA-256), and a model's identity cheaply (every file's name and size and the SHA-256 of its
 * first MiB, which holds config.json whole and a safetensors file's header with every name, shape and offset).
 */
public final class Fingerprint {
    private static final int MODEL_PREFIX_BYTES = 1 << 20;

    private Fingerprint() {}

    /** SHA-256 of the whole file, in hex. */
    public static String ofFile(Path file) {
        MessageDigest d = sha256();
        digest(d, file, Long.MAX_VALUE);
        return HexFormat.of().formatHex(d.digest());
    }

    /** A model directory's (or single model file's) fingerprint: names, sizes and first-MiB hashes of its files. */
    public static String ofModel(Path model) {
        MessageDigest d = sha256();
        List<Path> files;
        if (Files.isDirectory(model)) {
            try (Stream<Path> s = Files.list(model)) {
                files = s.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList();
            } catch (IOException e) {
                throw new Lora4jException(model + ": cannot list: " + e.getMessage(), e);
            }
        } else {
            files = List.of(model);
        }
        for (Path f : files) {
            try {
                d.update((f.getFileName() + "\0" + Files.size(f) + "\0").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new Lora4jException(f + ": cannot read: " + e.getMessage(), e);
            }
            digest(d, f, MODEL_PREFIX_BYTES);
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static void digest(MessageDigest d, Path file, long limit) {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            long left = limit;
            int n;
            while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
                d.update(buf, 0, n);
                left -= n;
            }
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
