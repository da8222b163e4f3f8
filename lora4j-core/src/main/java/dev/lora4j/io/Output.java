package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A directory (or, for an ONNX file, a file) that lora4j writes, claimed before anything is written, so that an output
 * never destroys what lora4j did not create:
 * <ul>
 *   <li>it is never an input, inside one, or around one (the model, adapter and data of the command);</li>
 *   <li>a directory that exists must be empty, or a previous lora4j output of the same {@link Kind}, replaced only in
 *       {@link Mode#OVERWRITE} and continued only in {@link Mode#CONTINUE}; and then it may hold nothing that lora4j
 *       did not write;</li>
 *   <li>a lock ({@link OutputLock}) keeps a second process out while the claim is held.</li>
 * </ul>
 * A hidden marker, {@value #MARKER} (for a file output: {@code .NAME.lora4j-output.json} beside it), records the kind
 * and every top-level name lora4j wrote; that list is how a later claim tells lora4j's files from the user's.
 * Outputs appear whole ({@link #stage()} then {@link #commit}) or are written in place ({@link #record}, training runs).
 */
public final class Output implements AutoCloseable {
    /** The marker's file name inside an output directory. */
    public static final String MARKER = ".lora4j-output.json";

    /** What an output holds; a claim may replace or continue only an output of the same kind. */
    public enum Kind {
        /** {@code train}: adapter or model, metrics.jsonl, checkpoints/. */
        TRAINING_RUN,
        /** A PEFT adapter directory. */
        ADAPTER,
        /** A Hugging Face model directory or an ONNX file ({@code merge}, {@code init}). */
        MODEL,
        /** {@code quickstart}'s report directory. */
        QUICKSTART_REPORT,
        /** {@code experiment}'s report directory. */
        EXPERIMENT_REPORT;

        String wireName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        String description() {
            return name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }

        String withArticle() {
            return (this == ADAPTER || this == EXPERIMENT_REPORT ? "an " : "a ") + description();
        }
    }

    /** What a claim may do with a previous output of its kind. */
    public enum Mode {
        /** The output must not exist, or be an empty directory. */
        NEW,
        /** A previous output of the same kind is replaced (never the user's files). */
        OVERWRITE,
        /** A previous output of the same kind is continued in place (resume), or a new one begun. */
        CONTINUE
    }

    private static final Pattern TEMPORARY = Pattern.compile("\\.(.+?)(?:(?:\\.[0-9a-f]{1,16})?\\.tmp|\\.old|\\.lock)");

    private final Path path;
    private final Kind kind;
    private final boolean file;
    private final boolean previous;
    private final OutputLock lock;

    private Output(Path path, Kind kind, boolean file, boolean previous, OutputLock lock) {
        this.path = path;
        this.kind = kind;
        this.file = file;
        this.previous = previous;
        this.lock = lock;
    }

    /** Claims {@code dir} as an output directory of {@code kind}; {@code inputs} are the paths the command reads. */
    public static Output directory(Path dir, Kind kind, Mode mode, Collection<Path> inputs) {
        return claim(dir, kind, mode, inputs, false);
    }

    /** Claims {@code file} as an output file (an ONNX model); its marker lies beside it. */
    public static Output file(Path file, Kind kind, Mode mode, Collection<Path> inputs) {
        return claim(file, kind, mode, inputs, true);
    }

    private static Output claim(Path target, Kind kind, Mode mode, Collection<Path> inputs, boolean file) {
        Path out = target.toAbsolutePath().normalize();
        if (out.getParent() == null) throw new Lora4jException(target + ": cannot be an output (it is the root directory)");
        refuseOverlap(target, out, inputs);
        OutputLock lock = OutputLock.acquire(out);
        try {
            boolean previous = file ? checkFile(target, out, kind, mode) : checkDirectory(target, out, kind, mode);
            return new Output(out, kind, file, previous, lock);
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    /** The output never is, lies inside or contains an input (compared as real paths, so links do not hide it). */
    private static void refuseOverlap(Path given, Path out, Collection<Path> inputs) {
        Path realOut = realPath(out);
        for (Path input : inputs) {
            if (input == null) continue;
            Path in = realPath(input.toAbsolutePath().normalize());
            if (realOut.equals(in)) throw new Lora4jException(given + ": is an input of this command (" + input + "); choose another output");
            if (realOut.startsWith(in)) throw new Lora4jException(given + ": lies inside the input " + input + "; choose an output outside it");
            if (in.startsWith(realOut)) throw new Lora4jException(given + ": holds the input " + input + "; choose an output that does not contain it");
        }
    }

    /** The real path of {@code p}'s longest existing ancestor, with the rest of {@code p} appended. */
    static Path realPath(Path p) {
        Path existing = p;
        Path rest = null;
        while (existing != null && !Files.exists(existing)) {
            Path name = existing.getFileName();
            rest = rest == null ? name : name.resolve(rest);
            existing = existing.getParent();
        }
        if (existing == null) return p;
        try {
            Path real = existing.toRealPath();
            return rest == null ? real : real.resolve(rest);
        } catch (IOException e) {
            throw new Lora4jException(existing + ": cannot resolve: " + e.getMessage(), e);
        }
    }

    private static boolean checkDirectory(Path given, Path out, Kind kind, Mode mode) {
        if (!Files.exists(out, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(out)) return false;
        if (!Files.isDirectory(out)) throw new Lora4jException(given + ": exists and is not a directory; choose another output");
        List<String> entries = list(out);
        return checkListing(given.toString(), entries, entries.contains(MARKER) ? readMarker(out.resolve(MARKER)) : null, kind, mode);
    }

    /**
     * The rules of {@link #directory} for an existing directory known by its listing (lora4j-spark applies them to one on
     * a Hadoop file system): {@code entries} are its top-level names, {@code marker} its parsed marker (see
     * {@link #parseMarker}) or null. Refuses what a claim refuses, naming {@code given}; returns true when a previous
     * output of {@code kind} is there to continue or replace.
     */
    public static boolean checkListing(String given, List<String> entries, JsonNode marker, Kind kind, Mode mode) {
        if (entries.isEmpty()) return false;
        if (marker == null) {
            throw new Lora4jException(given + ": is not empty and was not written by lora4j (" + sample(entries)
                    + "); lora4j never writes into such a directory: choose a new or empty one");
        }
        requireKind(given, marker, kind);
        List<String> foreign = foreign(entries, marker);
        boolean previous = entries.size() > 1;
        if (!previous) return false;                              // only the marker: a run that stopped before writing
        if (mode == Mode.NEW) {
            throw new Lora4jException(given + ": holds a previous " + kind.description() + " (" + sample(entries)
                    + "); choose a new output, or replace it explicitly" + (kind == Kind.TRAINING_RUN ? " (or continue it by resuming)" : ""));
        }
        if (mode == Mode.OVERWRITE && !foreign.isEmpty()) {
            throw new Lora4jException(given + ": holds files lora4j did not write (" + sample(foreign)
                    + "); move them away before replacing this " + kind.description());
        }
        return true;
    }

    /** The entries of a listing that {@code marker} does not claim for lora4j (see {@link #checkListing}). */
    public static List<String> foreign(List<String> entries, JsonNode marker) {
        Set<String> ours = entriesOf(marker);
        return entries.stream().filter(e -> !isOurs(e, ours)).toList();
    }

    /** A marker's text, checked as {@link #directory} checks the marker it reads; {@code where} names it in errors. */
    public static JsonNode parseMarker(byte[] json, String where) {
        return checkMarker(Json.parseObject(json, where, "lora4j output marker"), where);
    }

    /** The text of a directory marker of {@code kind} recording {@code names}. */
    public static String markerText(Kind kind, Collection<String> names) {
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.put("kind", kind.wireName());
        m.put("written_by", "lora4j");
        ArrayNode a = m.putArray("entries");
        new TreeSet<>(names).stream().filter(n -> !n.equals(MARKER)).forEach(a::add);
        return m.toPrettyString() + "\n";
    }

    /** The names a marker records. */
    public static Set<String> recorded(JsonNode marker) {
        return entriesOf(marker);
    }

    private static boolean checkFile(Path given, Path out, Kind kind, Mode mode) {
        if (!Files.exists(out, LinkOption.NOFOLLOW_LINKS)) return false;
        if (!Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS)) throw new Lora4jException(given + ": exists and is not a regular file; choose another output");
        Path markerFile = fileMarker(out);
        if (!Files.isRegularFile(markerFile)) {
            throw new Lora4jException(given + ": exists and was not written by lora4j; lora4j never replaces such a file: choose a new name");
        }
        requireKind(given, readMarker(markerFile), kind);
        if (mode == Mode.NEW) throw new Lora4jException(given + ": holds a previous " + kind.description() + "; choose a new name, or replace it explicitly");
        return true;
    }

    private static void requireKind(Object given, JsonNode marker, Kind kind) {
        String found = marker.path("kind").asText("");
        if (!found.equals(kind.wireName())) {
            throw new Lora4jException(given + ": holds a lora4j " + found.replace('-', ' ') + ", not " + kind.withArticle()
                    + "; choose another output");
        }
    }

    /** The output's absolute path. */
    public Path path() {
        return path;
    }

    /** True when a previous output of this kind was there when claimed (to be replaced or continued). */
    public boolean hasPrevious() {
        return previous;
    }

    /**
     * Records top-level names that lora4j writes in place (for an output written over time, such as a training run);
     * the directory and its marker are created on the first call.
     */
    public void record(String... names) {
        requireDirectory();
        Path marker = path.resolve(MARKER);
        boolean exists = Files.isRegularFile(marker);
        Set<String> all = exists ? entriesOf(readMarker(marker)) : new TreeSet<>();
        if (exists && all.containsAll(List.of(names))) return;
        all.addAll(List.of(names));
        try {
            Files.createDirectories(path);
        } catch (IOException e) {
            throw new Lora4jException(path + ": cannot create: " + e.getMessage(), e);
        }
        AtomicFiles.writeString(marker, markerJson(all));
    }

    /** {@link Mode#OVERWRITE} of an output written in place: deletes every entry the previous run recorded. */
    public void clearPrevious() {
        requireDirectory();
        if (!Files.isRegularFile(path.resolve(MARKER))) return;
        try {
            Set<String> recorded = entriesOf(readMarker(path.resolve(MARKER)));
            for (String name : list(path)) {
                if (!name.equals(MARKER) && isOurs(name, recorded)) AtomicFiles.deleteRecursively(path.resolve(name));
            }
            AtomicFiles.fsyncDirectory(path);
        } catch (IOException e) {
            throw new Lora4jException(path + ": cannot clear the previous " + kind.description() + ": " + e.getMessage(), e);
        }
        AtomicFiles.writeString(path.resolve(MARKER), markerJson(Set.of()));
    }

    /** A fresh staging directory (or file) beside the output, to fill and then {@link #commit}. */
    public Path stage() {
        Path staging = staging();
        try {
            AtomicFiles.deleteRecursively(staging);                // ours: the lock is held, the name is lora4j's
            if (file) return staging;
            Files.createDirectories(staging);
            return staging;
        } catch (IOException e) {
            throw new Lora4jException(staging + ": cannot create: " + e.getMessage(), e);
        }
    }

    /** Replaces the output by the filled staging directory (or file): it appears whole, with its marker, or not at all. */
    public void commit(Path staging) {
        if (!staging.equals(staging())) throw new IllegalArgumentException(staging + " is not this output's staging path");
        try {
            if (file) {
                AtomicFiles.fsyncFile(staging);
                AtomicFiles.writeString(fileMarker(path), markerJson(Set.of(path.getFileName().toString())));
                Files.move(staging, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                AtomicFiles.fsyncDirectory(path.getParent());
                return;
            }
            Set<String> names = new TreeSet<>(list(staging));
            AtomicFiles.writeString(staging.resolve(MARKER), markerJson(names));
            AtomicFiles.fsyncTree(staging);
            AtomicFiles.commitDirectory(staging, path);
        } catch (IOException e) {
            throw new Lora4jException(path + ": cannot write: " + e.getMessage(), e);
        }
    }

    private Path staging() {
        return path.resolveSibling("." + path.getFileName() + ".tmp");
    }

    /** Releases the lock. */
    @Override
    public void close() {
        lock.close();
    }

    private void requireDirectory() {
        if (file) throw new IllegalStateException(path + " is a file output");
    }

    private String markerJson(Set<String> names) {
        return markerText(kind, names);
    }

    private static Path fileMarker(Path file) {
        return file.resolveSibling("." + file.getFileName() + ".lora4j-output.json");
    }

    private static JsonNode readMarker(Path marker) {
        return checkMarker(Json.readObject(marker, "lora4j output marker"), marker.toString());
    }

    private static JsonNode checkMarker(JsonNode m, String marker) {
        if (!m.path("kind").isTextual() || !m.path("entries").isArray()) {
            throw new Lora4jException(marker + ": is not a lora4j output marker (expected \"kind\" and \"entries\")");
        }
        return m;
    }

    private static Set<String> entriesOf(JsonNode marker) {
        Set<String> names = new TreeSet<>();
        for (JsonNode n : marker.path("entries")) {
            String s = n.asText();
            if (s.isEmpty() || s.contains("/") || s.contains("\\") || s.equals(".") || s.equals("..")) {
                throw new Lora4jException("lora4j output marker: entry '" + s + "' is not a plain file name");
            }
            names.add(s);
        }
        return names;
    }

    /**
     * True for a recorded name, the marker, and what lora4j's writes of them leave behind when killed: temporary files
     * ({@code .NAME.tmp}, {@code .NAME.<hex>.tmp}), a directory being swapped ({@code .NAME.old}), a lock ({@code .NAME.lock}).
     */
    private static boolean isOurs(String entry, Set<String> recorded) {
        if (entry.equals(MARKER) || recorded.contains(entry)) return true;
        Matcher m = TEMPORARY.matcher(entry);
        return m.matches() && (m.group(1).equals(MARKER) || recorded.contains(m.group(1)));
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new Lora4jException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    private static String sample(List<String> names) {
        List<String> shown = new ArrayList<>(names.subList(0, Math.min(5, names.size())));
        if (names.size() > 5) shown.add("and " + (names.size() - 5) + " more");
        return String.join(", ", shown);
    }
}
