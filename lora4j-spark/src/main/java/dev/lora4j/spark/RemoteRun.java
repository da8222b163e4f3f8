package dev.lora4j.spark;

import dev.lora4j.Lora4jException;
import dev.lora4j.train.Checkpoints;
import dev.lora4j.train.FineTune;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A worker's local directory for a run whose {@code --out} is on a Hadoop file system: the trainer reads and writes it
 * as it does any output directory. At the start of every attempt it receives the remote run's latest checkpoint (and,
 * for rank 0, metrics.jsonl), so a stage restarted on another executor continues from there. Rank 0 publishes each
 * checkpoint once it is promoted (the update it holds gave a finite loss): copied to {@code .checkpoint-N.tmp} and
 * renamed to {@code checkpoint-N}, then {@code latest} and metrics.jsonl (each written under a temporary name and
 * renamed), then the older checkpoints deleted; at the end it uploads the staged result for the driver to move into
 * place. A remote checkpoint directory is only ever complete, so a reader takes the highest-numbered one.
 */
final class RemoteRun {
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-([1-9][0-9]{0,9})");

    private final FileSystem fs;
    private final Path remote;
    private final java.nio.file.Path local;
    private int published;

    private RemoteRun(FileSystem fs, Path remote, java.nio.file.Path local, int published) {
        this.fs = fs;
        this.remote = remote;
        this.local = local;
        this.published = published;
    }

    /** Fills the empty {@code local} with the remote run's latest checkpoint (and metrics.jsonl when {@code writer}). */
    static RemoteRun open(String uri, Configuration conf, java.nio.file.Path local, boolean writer) {
        try {
            FileSystem fs = new Path(uri).getFileSystem(conf);
            Path remote = fs.makeQualified(new Path(uri)), checkpoints = new Path(remote, Checkpoints.DIR);
            int latest = 0;
            if (fs.exists(checkpoints)) {
                for (FileStatus s : fs.listStatus(checkpoints)) {
                    Matcher m = CHECKPOINT.matcher(s.getPath().getName());
                    if (s.isDirectory() && m.matches()) latest = Math.max(latest, Integer.parseInt(m.group(1)));
                }
            }
            if (latest > 0) {
                java.nio.file.Path dir = local.resolve(Checkpoints.DIR);
                Files.createDirectories(dir);
                fs.copyToLocalFile(false, new Path(checkpoints, "checkpoint-" + latest), new Path(dir.resolve("checkpoint-" + latest).toUri()), true);
                Files.writeString(dir.resolve("latest"), "checkpoint-" + latest + "\n");
                Path metrics = new Path(remote, FineTune.METRICS_FILE);
                if (writer && fs.exists(metrics)) fs.copyToLocalFile(false, metrics, new Path(local.resolve(FineTune.METRICS_FILE).toUri()), true);
            }
            return new RemoteRun(fs, remote, local, latest);
        } catch (IOException e) {
            throw new Lora4jException(uri + ": cannot read the run's latest checkpoint: " + e.getMessage(), e);
        }
    }

    /** Rank 0, after each step: publishes the checkpoint {@code latest} names locally, if it is new. */
    void publishCheckpoint() {
        java.nio.file.Path pointer = local.resolve(Checkpoints.DIR).resolve("latest");
        try {
            if (!Files.exists(pointer)) return;
            String name = Files.readString(pointer).strip();
            int step = Checkpoints.stepOf(java.nio.file.Path.of(name));
            if (step == published) return;
            Path checkpoints = new Path(remote, Checkpoints.DIR), tmp = new Path(checkpoints, "." + name + ".tmp"), target = new Path(checkpoints, name);
            fs.delete(tmp, true);
            fs.mkdirs(checkpoints);
            fs.copyFromLocalFile(false, true, new Path(local.resolve(Checkpoints.DIR).resolve(name).toUri()), tmp);
            fs.delete(target, true);
            rename(tmp, target);
            write(fs, new Path(checkpoints, "latest"), (name + "\n").getBytes(StandardCharsets.UTF_8));
            publishMetrics();
            for (FileStatus s : fs.listStatus(checkpoints)) {
                String n = s.getPath().getName();
                if (!n.equals(name) && !n.equals("latest")) fs.delete(s.getPath(), true);
            }
            published = step;
        } catch (IOException e) {
            throw new Lora4jException(remote + ": cannot publish the checkpoint: " + e.getMessage(), e);
        }
    }

    /** Rank 0, at the end: the last checkpoint, metrics.jsonl, and the staged result into the remote staging directory. */
    void publishResult(String staging) {
        publishCheckpoint();
        try {
            publishMetrics();
            Path target = new Path(remote, staging);
            fs.delete(target, true);
            fs.copyFromLocalFile(false, true, new Path(local.resolve(staging).toUri()), target);
        } catch (IOException e) {
            throw new Lora4jException(remote + ": cannot upload the result: " + e.getMessage(), e);
        }
    }

    private void publishMetrics() throws IOException {
        java.nio.file.Path metrics = local.resolve(FineTune.METRICS_FILE);
        if (Files.exists(metrics)) write(fs, new Path(remote, FineTune.METRICS_FILE), Files.readAllBytes(metrics));
    }

    private void rename(Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) throw new IOException("cannot rename " + from + " to " + to);
    }

    /** Writes {@code file} whole: under the temporary name {@code .NAME.tmp}, then renamed over it. */
    static void write(FileSystem fs, Path file, byte[] bytes) throws IOException {
        Path tmp = new Path(file.getParent(), "." + file.getName() + ".tmp");
        try (OutputStream out = fs.create(tmp, true)) {
            out.write(bytes);
        }
        fs.delete(file, false);
        if (!fs.rename(tmp, file)) throw new IOException("cannot rename " + tmp + " to " + file);
    }
}
