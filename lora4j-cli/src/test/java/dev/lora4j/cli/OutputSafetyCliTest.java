package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 through the CLI, as a careless user would meet it: outputs that would destroy files (finding 1), a diverged
 * run and its merge (finding 3), resumes with changed settings (finding 4), links in a model directory (finding 9).
 */
class OutputSafetyCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final String TINY = TESTDATA.resolve("gpt2-tiny").toString();
    private static final String TRAIN = TESTDATA.resolve("moby-dick/train.txt").toString();
    @TempDir
    Path tmp;

    private static CliTest.Run train(Path out, String... extra) {
        return train(out, "1e-2", 2, extra);
    }

    private static CliTest.Run train(Path out, String lr, int steps, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", TINY, "--data", TRAIN, "--out", out.toString(), "--rank", "2",
                "--lr", lr, "--max-steps", Integer.toString(steps), "--batch-size", "2", "--seq-len", "16", "--save-every", "1"));
        args.addAll(List.of(extra));
        return CliTest.run(args.toArray(String[]::new));
    }

    private Path userFiles(String name) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name).resolve("docs"));
        Files.writeString(d.resolve("thesis.txt"), "four years of work");
        Files.writeString(d.getParent().resolve("id_ed25519"), "key");
        return d.getParent();
    }

    private static void assertUserFilesIntact(Path d) throws IOException {
        assertEquals("four years of work", Files.readString(d.resolve("docs/thesis.txt")));
        assertEquals("key", Files.readString(d.resolve("id_ed25519")));
    }

    @Test
    void mergeAndInitNeverWriteOverAUsersDirectoryOrTheirInputs() throws IOException {
        Path adapter = tmp.resolve("adapter");
        assertEquals(0, train(adapter).status());
        for (String overwrite : List.of("", "--overwrite")) {
            Path user = userFiles("user" + overwrite.length());
            List<String> merge = new ArrayList<>(List.of("merge", "--model", TINY, "--adapter", adapter.toString(), "--out", user.toString()));
            if (!overwrite.isEmpty()) merge.add(overwrite);
            CliTest.Run r = CliTest.run(merge.toArray(String[]::new));
            assertEquals(1, r.status(), r.out());
            assertTrue(r.err().contains("not written by lora4j"), r.err());
            assertUserFilesIntact(user);

            Path config = TESTDATA.resolve("gpt2-tiny/config.json");
            List<String> init = new ArrayList<>(List.of("init", "--config", config.toString(), "--out", user.toString()));
            if (!overwrite.isEmpty()) init.add(overwrite);
            assertEquals(1, CliTest.run(init.toArray(String[]::new)).status());
            assertUserFilesIntact(user);
        }
        byte[] weights = Files.readAllBytes(adapter.resolve("adapter_model.safetensors"));
        for (Path out : List.of(adapter, adapter.resolve("checkpoints"), Path.of(TINY))) {
            CliTest.Run r = CliTest.run("merge", "--model", TINY, "--adapter", adapter.toString(), "--out", out.toString(), "--overwrite");
            assertEquals(1, r.status(), out.toString());
            assertTrue(r.err().contains("input"), r.err());
        }
        assertArrayEquals(weights, Files.readAllBytes(adapter.resolve("adapter_model.safetensors")));
        assertTrue(Files.isDirectory(adapter.resolve("checkpoints/checkpoint-2")));

        Path merged = tmp.resolve("merged");
        assertEquals(0, CliTest.run("merge", "--model", TINY, "--adapter", adapter.toString(), "--out", merged.toString()).status());
        CliTest.Run again = CliTest.run("merge", "--model", TINY, "--adapter", adapter.toString(), "--out", merged.toString());
        assertEquals(1, again.status());
        assertTrue(again.err().contains("holds a previous model"), again.err());
        assertEquals(0, CliTest.run("merge", "--model", TINY, "--adapter", adapter.toString(), "--out", merged.toString(), "--overwrite").status());

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        CliTest.Run dot = CliTest.run("merge", "--model", TINY, "--adapter", adapter.toString(), "--out", empty.resolve(".").toString());
        assertEquals(0, dot.status(), dot.err());
        assertTrue(Files.isRegularFile(empty.resolve("model.safetensors")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".")), "no hidden leftovers beside the outputs");
        }
    }

    @Test
    void trainNeverReplacesAnEarlierRunOrItsOwnBase() throws IOException {
        Path base = tmp.resolve("base");
        Files.createDirectories(base);
        try (Stream<Path> s = Files.list(Path.of(TINY))) {
            for (Path f : s.toList()) Files.copy(f, base.resolve(f.getFileName()));
        }
        byte[] weights = Files.readAllBytes(base.resolve("model.safetensors"));
        CliTest.Run full = CliTest.run("train", "--model", base.toString(), "--data", TRAIN, "--out", base.toString(), "--full",
                "--max-steps", "1", "--seq-len", "16", "--overwrite");
        assertEquals(1, full.status());
        assertTrue(full.err().contains("is an input"), full.err());
        assertArrayEquals(weights, Files.readAllBytes(base.resolve("model.safetensors")));

        Path run = tmp.resolve("run");
        assertEquals(0, train(run).status());
        byte[] metrics = Files.readAllBytes(run.resolve("metrics.jsonl"));
        byte[] adapter = Files.readAllBytes(run.resolve("adapter_model.safetensors"));
        CliTest.Run second = train(run, "--seed", "7");
        assertEquals(1, second.status());
        assertTrue(second.err().contains("holds a previous training run") && second.err().contains("resum"), second.err());
        CliTest.Run failsEarly = CliTest.run("train", "--model", TINY, "--data", tmp.resolve("missing.txt").toString(), "--out", run.toString(), "--overwrite");
        assertEquals(1, failsEarly.status());
        assertArrayEquals(metrics, Files.readAllBytes(run.resolve("metrics.jsonl")), "a run that fails before training destroys nothing");
        assertArrayEquals(adapter, Files.readAllBytes(run.resolve("adapter_model.safetensors")));

        Files.writeString(run.resolve("notes.md"), "my notes");
        CliTest.Run foreign = train(run, "--overwrite");
        assertEquals(1, foreign.status());
        assertTrue(foreign.err().contains("did not write (notes.md)"), foreign.err());
        Files.delete(run.resolve("notes.md"));
        assertEquals(0, train(run, "--overwrite", "--seed", "7").status());
    }

    /** Finding 4: every setting that changes the result is checked on resume; optimizer settings only change when named. */
    @Test
    void resumeRefusesChangedSettingsAndData() throws IOException {
        Path data = Files.writeString(tmp.resolve("data.txt"), Files.readString(Path.of(TRAIN)));
        Path run = tmp.resolve("run");
        String[] same = {"--model", TINY, "--data", data.toString(), "--out", run.toString(), "--rank", "2", "--max-steps", "4",
                "--batch-size", "2", "--seq-len", "16", "--save-every", "1"};
        assertEquals(0, CliTest.run(concat(new String[] {"train", "--lr", "1e-2"}, same)).status());
        for (String[] change : List.of(new String[] {"--alpha", "32"}, new String[] {"--lr", "5e-3"}, new String[] {"--schedule", "linear"},
                new String[] {"--warmup", "2"}, new String[] {"--weight-decay", "0.1"}, new String[] {"--targets", "c_proj"},
                new String[] {"--dropout", "0.1"}, new String[] {"--seed", "1"})) {
            List<String> args = new ArrayList<>(List.of(concat(new String[] {"train", "--resume"}, same)));
            if (!change[0].equals("--lr")) args.addAll(List.of("--lr", "1e-2"));
            args.addAll(List.of(change));
            CliTest.Run r = CliTest.run(args.toArray(String[]::new));
            assertEquals(1, r.status(), String.join(" ", change) + ": " + r.out());
            assertTrue(r.err().contains("other settings"), r.err());
        }
        Files.writeString(data, "Call me Ishmael, and nothing else.\n" + Files.readString(data));
        CliTest.Run changed = CliTest.run(concat(new String[] {"train", "--resume", "--lr", "1e-2"}, same));
        assertEquals(1, changed.status());
        assertTrue(changed.err().contains("data: "), changed.err());
        Files.writeString(data, Files.readString(Path.of(TRAIN)));

        CliTest.Run alpha = CliTest.run(concat(new String[] {"train", "--resume", "--lr", "1e-2", "--alpha", "32", "--override", "lora_alpha"}, same));
        assertEquals(1, alpha.status());
        assertTrue(alpha.err().contains("'lora_alpha' cannot be changed"), alpha.err());
        List<String> longer = new ArrayList<>(List.of(concat(new String[] {"train", "--resume", "--lr", "5e-3", "--override", "max_steps,lr"}, same)));
        longer.set(longer.indexOf("--max-steps") + 1, "6");
        CliTest.Run r = CliTest.run(longer.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("resuming after step 4 with lr: 0.01 → 0.005, max_steps: 4 → 6"), r.out());
    }

    /** Finding 3: a run that diverges says how to go on; the adapter of a diverged update is never merged silently. */
    @Test
    void aDivergedRunAndAnAbsurdAdapter() throws IOException {
        Path run = tmp.resolve("wild");
        CliTest.Run wild = train(run, "1e20", 4);
        assertEquals(1, wild.status());
        assertTrue(wild.err().contains("training stopped") && wild.err().contains("--lr"), wild.err());

        Path good = tmp.resolve("good");
        assertEquals(0, train(good).status());
        Path huge = tmp.resolve("huge");
        Files.createDirectories(huge);
        Files.copy(good.resolve("adapter_config.json"), huge.resolve("adapter_config.json"));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(good.resolve("adapter_model.safetensors"))) {
            for (String n : f.names()) {
                Tensor t = f.read(n);
                if (n.contains("lora_B")) for (int i = 0; i < t.data().length; i++) t.data()[i] = 1e6f;
                tensors.put(n, t);
            }
        }
        SafetensorsWriter.write(huge.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        CliTest.Run merge = CliTest.run("merge", "--model", TINY, "--adapter", huge.toString(), "--out", tmp.resolve("m").toString());
        assertEquals(1, merge.status());
        assertTrue(merge.err().contains("times the size of the base weight") && merge.err().contains("--allow-large-update"), merge.err());
        assertFalse(Files.exists(tmp.resolve("m")));
        assertEquals(0, CliTest.run("merge", "--model", TINY, "--adapter", huge.toString(), "--out", tmp.resolve("m").toString(),
                "--allow-large-update").status());
    }

    /** Finding 9: merge copies the base's other files, but not through a link that leads out of the model directory. */
    @Test
    void mergeDoesNotFollowLinksOutOfTheModel() throws IOException {
        Path base = Files.createDirectories(tmp.resolve("base"));
        try (Stream<Path> s = Files.list(Path.of(TINY))) {
            for (Path f : s.toList()) Files.copy(f, base.resolve(f.getFileName()));
        }
        Path secret = Files.writeString(tmp.resolve("secret.txt"), "not for the hub");
        Files.createSymbolicLink(base.resolve("README.md"), secret);
        Files.move(base.resolve("tokenizer.json"), base.resolve("tokenizer.blob"));
        Files.createSymbolicLink(base.resolve("tokenizer.json"), base.resolve("tokenizer.blob"));
        Path adapter = tmp.resolve("adapter");
        assertEquals(0, CliTest.run("train", "--model", base.toString(), "--data", TRAIN, "--out", adapter.toString(), "--max-steps", "1",
                "--seq-len", "16").status());
        CliTest.Run merge = CliTest.run("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", tmp.resolve("m").toString());
        assertEquals(0, merge.status(), merge.err());
        assertTrue(merge.out().contains("not copied (links that lead out of the model directory): README.md"), merge.out());
        assertFalse(Files.exists(tmp.resolve("m/README.md")));
        assertTrue(Files.isRegularFile(tmp.resolve("m/tokenizer.json")), "a link inside the model is followed");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] c = new String[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
