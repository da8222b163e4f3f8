package dev.lora4j.spark;

import java.io.IOException;
import java.net.URI;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * A Hadoop file system for the scheme {@code testfs://}, serving the local disk ({@code testfs:///tmp/x} is
 * {@code /tmp/x}): what a test registers ({@code spark.hadoop.fs.testfs.impl}) to reach lora4j-spark's remote paths
 * only through Hadoop's API, as it reaches HDFS or S3. Statuses are plain ones: the local file system's read their
 * permissions from a {@code file:} URI.
 */
public class TestFileSystem extends RawLocalFileSystem {
    static final String SCHEME = "testfs";

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
        return plain(super.getFileStatus(f));
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
        FileStatus[] all = super.listStatus(f);
        for (int i = 0; i < all.length; i++) all[i] = plain(all[i]);
        return all;
    }

    private static FileStatus plain(FileStatus s) {
        return new FileStatus(s.getLen(), s.isDirectory(), 1, s.getBlockSize(), s.getModificationTime(), s.getPath());
    }
}
