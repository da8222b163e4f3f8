package dev.lora4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import dev.lora4j.train.Checkpoints;
import dev.lora4j.train.FineTune;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A training run's output directory on a Hadoop file system ({@code hdfs://…}, {@code s3a://…}), claimed by the driver
 * under {@link Output}'s rules before anything runs: never an input, inside one or around one; an existing directory
 * must be empty or a lora4j training run (its marker, {@value Output#MARKER}), continued only with --resume, replaced
 * only with --overwrite and then holding nothing lora4j did not write. A lock file beside it ({@code .NAME.lock},
 * created only if absent) keeps a second run out; a run killed without releasing it leaves it, and the error says
 * which file to delete. Rank 0 writes the checkpoints, metrics.jsonl and the staged result ({@link RemoteRun}); the
 * driver records every name in the marker before it is written and moves the result into place.
 */
final class RemoteOutput implements RunOutput {
    /** Where rank 0 uploads the result (FineTune's staging name) for the driver to move into place. */
    static final String STAGING = ".export.tmp";

    private final String given;
    private final FileSystem fs;
    private final Path dir, lock;
    private final Output.Mode mode;
    private boolean previous;

    private RemoteOutput(String given, FileSystem fs, Path dir, Path lock, Output.Mode mode) {
        this.given = given;
        this.fs = fs;
        this.dir = dir;
        this.lock = lock;
        this.mode = mode;
    }

    static RemoteOutput claim(String given, Output.Mode mode, List<String> inputs, Configuration conf) {
        Path dir;
        FileSystem fs;
        try {
            fs = new Path(given).getFileSystem(conf);
            dir = fs.makeQualified(new Path(given));
        } catch (IOException | IllegalArgumentException e) {
            throw new Lora4jException(given + ": cannot open its file system: " + e.getMessage(), e);
        }
        if (dir.getParent() == null) throw new Lora4jException(given + ": cannot be an output (it is the root directory)");
        for (String input : inputs) refuseOverlap(given, dir, input, conf);
        Path lock = new Path(dir.getParent(), "." + dir.getName() + ".lock");
        try (OutputStream out = fs.create(lock, false)) {
            out.write(("{\"host\": \"" + InetAddress.getLocalHost().getHostName() + "\", \"pid\": " + ProcessHandle.current().pid()
                    + ", \"since\": \"" + Instant.now() + "\"}\n").getBytes(StandardCharsets.UTF_8));
        } catch (FileAlreadyExistsException e) {
            throw new Lora4jException(given + ": another lora4j run is writing it (" + lock + " exists" + holder(fs, lock)
                    + "); if no run is, delete that file");
        } catch (IOException e) {
            throw new Lora4jException(given + ": cannot create the lock " + lock + ": " + e.getMessage(), e);
        }
        RemoteOutput o = new RemoteOutput(given, fs, dir, lock, mode);
        try {
            o.previous = o.check();
            return o;
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
    }

    /** The output never is, lies inside or contains an input on the same file system. */
    private static void refuseOverlap(String given, Path out, String input, Configuration conf) {
        Path in;
        try {
            in = RunPaths.isRemote(input) ? new Path(input).getFileSystem(conf).makeQualified(new Path(input))
                    : new Path(java.nio.file.Path.of(input).toAbsolutePath().normalize().toUri());
        } catch (IOException | IllegalArgumentException e) {
            throw new Lora4jException(input + ": cannot open its file system: " + e.getMessage(), e);
        }
        String o = out.toUri().normalize() + "/", i = in.toUri().normalize().toString().replaceAll("/+$", "") + "/";
        if (o.equals(i)) throw new Lora4jException(given + ": is an input of this command (" + input + "); choose another output");
        if (o.startsWith(i)) throw new Lora4jException(given + ": lies inside the input " + input + "; choose an output outside it");
        if (i.startsWith(o)) throw new Lora4jException(given + ": holds the input " + input + "; choose an output that does not contain it");
    }

    private boolean check() {
        try {
            if (!fs.exists(dir)) return false;
            if (!fs.getFileStatus(dir).isDirectory()) throw new Lora4jException(given + ": exists and is not a directory; choose another output");
            List<String> entries = names(dir);
            return Output.checkListing(given, entries, entries.contains(Output.MARKER) ? marker() : null, Output.Kind.TRAINING_RUN, mode);
        } catch (IOException e) {
            throw new Lora4jException(given + ": cannot list: " + e.getMessage(), e);
        }
    }

    @Override
    public java.nio.file.Path path() {
        return java.nio.file.Path.of(dir.toString());
    }

    @Override
    public void prepare() {
        try {
            if (mode == Output.Mode.OVERWRITE && previous && fs.exists(new Path(dir, Output.MARKER))) {
                List<String> entries = names(dir), foreign = Output.foreign(entries, marker());
                for (String n : entries) {
                    if (!n.equals(Output.MARKER) && !foreign.contains(n)) fs.delete(new Path(dir, n), true);
                }
                writeMarker(Set.of());
            }
        } catch (IOException e) {
            throw new Lora4jException(given + ": cannot clear the previous training run: " + e.getMessage(), e);
        }
        record(List.of(Checkpoints.DIR, FineTune.METRICS_FILE, STAGING));
    }

    @Override
    public void publish() {
        Path staging = new Path(dir, STAGING);
        try {
            List<String> files = names(staging);
            record(files);
            for (String f : files) {
                Path target = new Path(dir, f);
                if (fs.exists(target)) fs.delete(target, true);
                if (!fs.rename(new Path(staging, f), target)) throw new IOException("cannot rename " + new Path(staging, f) + " to " + target);
            }
            fs.delete(staging, true);
        } catch (IOException e) {
            throw new Lora4jException(given + ": cannot write the result: " + e.getMessage(), e);
        }
    }

    /** Adds {@code names} to the marker (creating the directory and the marker on the first call). */
    private void record(List<String> names) {
        try {
            Set<String> all = new HashSet<>(fs.exists(new Path(dir, Output.MARKER)) ? Output.recorded(marker()) : Set.of());
            if (fs.exists(new Path(dir, Output.MARKER)) && all.containsAll(names)) return;
            all.addAll(names);
            fs.mkdirs(dir);
            writeMarker(all);
        } catch (IOException e) {
            throw new Lora4jException(given + ": cannot write " + Output.MARKER + ": " + e.getMessage(), e);
        }
    }

    private void writeMarker(Set<String> names) throws IOException {
        RemoteRun.write(fs, new Path(dir, Output.MARKER), Output.markerText(Output.Kind.TRAINING_RUN, names).getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode marker() throws IOException {
        Path m = new Path(dir, Output.MARKER);
        try (InputStream in = fs.open(m)) {
            return Output.parseMarker(in.readAllBytes(), m.toString());
        }
    }

    private List<String> names(Path d) throws IOException {
        List<String> names = new ArrayList<>();
        for (FileStatus s : fs.listStatus(d)) names.add(s.getPath().getName());
        names.sort(null);
        return names;
    }

    private static String holder(FileSystem fs, Path lock) {
        try (InputStream in = fs.open(lock)) {
            return ", held by " + new String(in.readNBytes(200), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        try {
            fs.delete(lock, false);
        } catch (IOException e) {
            throw new Lora4jException(lock + ": cannot delete the lock: " + e.getMessage(), e);
        }
    }
}
