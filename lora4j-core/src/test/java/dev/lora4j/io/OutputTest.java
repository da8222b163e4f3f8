package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 15, finding 1: an output never destroys what lora4j did not write, never an input, one process at a time. */
class OutputTest {
    @TempDir
    Path tmp;

    private Path userDirectory() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("thesis"));
        Files.createDirectories(d.resolve("docs"));
        Files.writeString(d.resolve("docs/thesis.txt"), "four years of work");
        Files.writeString(d.resolve("id_ed25519"), "key");
        return d;
    }

    private static String refused(Path out, Output.Kind kind, Output.Mode mode, List<Path> inputs) {
        return assertThrows(Lora4jException.class, () -> Output.directory(out, kind, mode, inputs).close()).getMessage();
    }

    @Test
    void aForeignDirectoryIsNeverWrittenEvenWhenOverwriteIsAsked() throws IOException {
        Path d = userDirectory();
        for (Output.Mode mode : Output.Mode.values()) {
            String msg = refused(d, Output.Kind.MODEL, mode, List.of());
            assertTrue(msg.contains("not written by lora4j") && msg.contains("docs"), msg);
        }
        assertEquals("four years of work", Files.readString(d.resolve("docs/thesis.txt")));
        assertTrue(Files.exists(d.resolve("id_ed25519")));
    }

    @Test
    void aPreviousOutputIsReplacedOnlyWhenAskedAndOnlyIfItHoldsNothingElse() throws IOException {
        Path out = tmp.resolve("merged");
        commit(out, Output.Mode.NEW, "model.safetensors", "v1");
        String msg = refused(out, Output.Kind.MODEL, Output.Mode.NEW, List.of());
        assertTrue(msg.contains("holds a previous model") && msg.contains("replace it explicitly"), msg);
        assertTrue(refused(out, Output.Kind.ADAPTER, Output.Mode.OVERWRITE, List.of()).contains("holds a lora4j model, not an adapter"));

        commit(out, Output.Mode.OVERWRITE, "model.safetensors", "v2");
        assertEquals("v2", Files.readString(out.resolve("model.safetensors")));

        Files.writeString(out.resolve("notes.txt"), "mine");
        msg = refused(out, Output.Kind.MODEL, Output.Mode.OVERWRITE, List.of());
        assertTrue(msg.contains("holds files lora4j did not write (notes.txt)"), msg);
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        commit(empty, Output.Mode.NEW, "config.json", "{}");
        assertTrue(Files.exists(empty.resolve(Output.MARKER)), "an empty directory is adopted");
    }

    @Test
    void anInputIsNeverAnOutputNorInsideOneNorAroundOne() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("models/gpt2"));
        Files.writeString(model.resolve("config.json"), "{}");
        for (Path out : List.of(model, model.resolve("merged"), tmp.resolve("models"))) {
            for (Output.Mode mode : Output.Mode.values()) {
                String msg = refused(out, Output.Kind.TRAINING_RUN, mode, List.of(model));
                assertTrue(msg.contains("input"), out + ": " + msg);
            }
        }
        Path link = Files.createSymbolicLink(tmp.resolve("link"), model);
        assertTrue(refused(link.resolve("out"), Output.Kind.MODEL, Output.Mode.NEW, List.of(model)).contains("inside the input"));
        Path data = Files.writeString(tmp.resolve("data.txt"), "text");
        assertTrue(refused(data, Output.Kind.TRAINING_RUN, Output.Mode.CONTINUE, List.of(data)).contains("is an input"));
        assertTrue(Files.exists(model.resolve("config.json")));
    }

    @Test
    void aFileOutputReplacesOnlyAFileLora4jWrote() throws IOException {
        Path user = Files.writeString(tmp.resolve("model.onnx"), "user's graph");
        String msg = assertThrows(Lora4jException.class, () -> Output.file(user, Output.Kind.MODEL, Output.Mode.OVERWRITE, List.of()).close()).getMessage();
        assertTrue(msg.contains("was not written by lora4j"), msg);
        assertEquals("user's graph", Files.readString(user));

        Path ours = tmp.resolve("merged.onnx");
        for (String v : List.of("v1", "v2")) {
            try (Output o = Output.file(ours, Output.Kind.MODEL, v.equals("v1") ? Output.Mode.NEW : Output.Mode.OVERWRITE, List.of())) {
                Path staging = o.stage();
                Files.writeString(staging, v);
                o.commit(staging);
            }
        }
        assertEquals("v2", Files.readString(ours));
        assertThrows(Lora4jException.class, () -> Output.file(ours, Output.Kind.MODEL, Output.Mode.NEW, List.of()).close());
    }

    @Test
    void inPlaceOutputsRecordTheirNamesAndClearOnlyThose() throws IOException {
        Path out = tmp.resolve("run");
        try (Output o = Output.directory(out, Output.Kind.TRAINING_RUN, Output.Mode.NEW, List.of())) {
            o.record("metrics.jsonl", "checkpoints");
            Files.writeString(out.resolve("metrics.jsonl"), "{}");
            Files.createDirectories(out.resolve("checkpoints/checkpoint-1"));
            Files.writeString(out.resolve(".metrics.jsonl.tmp"), "a killed write");
        }
        assertTrue(refused(out, Output.Kind.TRAINING_RUN, Output.Mode.NEW, List.of()).contains("or continue it by resuming"));
        try (Output o = Output.directory(out, Output.Kind.TRAINING_RUN, Output.Mode.OVERWRITE, List.of())) {
            assertTrue(o.hasPrevious());
            o.clearPrevious();
        }
        try (var s = Files.list(out)) {
            assertEquals(List.of(Output.MARKER), s.map(p -> p.getFileName().toString()).toList());
        }
        try (Output o = Output.directory(out, Output.Kind.TRAINING_RUN, Output.Mode.NEW, List.of())) {
            assertFalse(o.hasPrevious(), "a run that wrote nothing yet is no previous run");
        }
    }

    /** Issue 15, finding 4: two runs into one output; the second fails at once, naming the holder's pid. */
    @Test
    void aSecondProcessIsRefusedWhileTheFirstHoldsTheOutput() throws Exception {
        Path out = tmp.resolve("busy");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), OutputHolder.class.getName(), out.toString()).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("claimed", r.readLine());
            String msg = refused(out, Output.Kind.TRAINING_RUN, Output.Mode.CONTINUE, List.of());
            assertTrue(msg.contains("in use by another lora4j run") && msg.contains("pid " + holder.pid()), msg);
            try (Output o = Output.directory(tmp.resolve("other"), Output.Kind.TRAINING_RUN, Output.Mode.NEW, List.of())) {
                assertThrows(Lora4jException.class, () -> Output.directory(tmp.resolve("other"), Output.Kind.TRAINING_RUN, Output.Mode.NEW,
                        List.of()).close(), "the same process twice");
            }
        } finally {
            holder.destroyForcibly();
            assertTrue(holder.waitFor(20, TimeUnit.SECONDS));
        }
        Output.directory(out, Output.Kind.TRAINING_RUN, Output.Mode.CONTINUE, List.of()).close();   // a killed holder's lock is gone
    }

    private void commit(Path out, Output.Mode mode, String file, String content) throws IOException {
        try (Output o = Output.directory(out, Output.Kind.MODEL, mode, List.of())) {
            Path staging = o.stage();
            Files.writeString(staging.resolve(file), content);
            o.commit(staging);
        }
    }

    /** Claims an output in a child JVM, says so, and holds it until killed. */
    public static final class OutputHolder {
        public static void main(String[] args) throws Exception {
            try (Output o = Output.directory(Path.of(args[0]), Output.Kind.TRAINING_RUN, Output.Mode.NEW, List.of())) {
                System.out.println("claimed");
                System.out.flush();
                Thread.sleep(60_000);
            }
        }
    }
}
