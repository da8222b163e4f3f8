package dev.lora4j.spark;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * The executor's local copies of remote inputs (a model directory, a .gguf or .onnx file, the data), which lora4j's
 * loaders map into memory: each is copied once per version into {@code CACHE/inputs/KEY/NAME}, KEY a hash of its URI and
 * of every file's relative path, length and modification time, so a changed input is copied anew and an unchanged one
 * is reused by every task of the JVM, later jobs, and other executors sharing the directory. A copy is written under a
 * temporary name and renamed into place, so a killed copy is never taken for a whole one. Copies are not deleted: the
 * cache directory ({@code spark.lora4j.cacheDir}) is the user's to clear.
 */
final class InputCache {
    private InputCache() {}

    /** The local copy of {@code uri} under {@code cache}, made now if there is none of this version. */
    static synchronized java.nio.file.Path local(String uri, Configuration conf, java.nio.file.Path cache) {
        Path src = new Path(uri);
        try {
            FileSystem fs = src.getFileSystem(conf);
            FileStatus status = fs.getFileStatus(src);
            java.nio.file.Path dir = cache.resolve("inputs").resolve(key(fs, status)), copy = dir.resolve(src.getName());
            if (Files.exists(copy)) return copy;
            Files.createDirectories(dir.getParent());
            java.nio.file.Path tmp = dir.resolveSibling("." + dir.getFileName() + "." + UUID.randomUUID() + ".tmp");
            try {
                Files.createDirectories(tmp);
                fs.copyToLocalFile(false, src, new Path(tmp.resolve(src.getName()).toUri()), true);
                try {
                    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                    // another executor of this host copied it meanwhile: theirs is as good
                }
            } finally {
                AtomicFiles.deleteRecursively(tmp);
            }
            return copy;
        } catch (java.io.FileNotFoundException e) {
            throw new Lora4jException(uri + ": no such file or directory");
        } catch (IOException e) {
            throw new Lora4jException(uri + ": cannot copy it to " + cache + ": " + e.getMessage(), e);
        }
    }

    /** A hash of the URI and of each file's relative path, length and modification time. */
    private static String key(FileSystem fs, FileStatus status) throws IOException {
        List<String> lines = new ArrayList<>();
        String root = status.getPath().toString();
        lines.add(root);
        if (status.isDirectory()) {
            RemoteIterator<LocatedFileStatus> files = fs.listFiles(status.getPath(), true);
            while (files.hasNext()) {
                LocatedFileStatus f = files.next();
                lines.add(f.getPath().toString().substring(root.length()) + " " + f.getLen() + " " + f.getModificationTime());
            }
        } else {
            lines.add(status.getLen() + " " + status.getModificationTime());
        }
        lines.sort(null);
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(String.join("\n", lines).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
