// Hostile inputs through the CLI: each must end in exit status 1 and one "error: ..." line that names the file,
// field or flag, never a NaN printed as a result, a stack trace, or raw control characters.
package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class ValidationCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final Path TINY = TESTDATA.resolve("gpt2-tiny");
    private static final String VALID = TESTDATA.resolve("moby-dick/valid.txt").toString();
    @TempDir
    Path tmp;

    /** Exit status 1 with a one-line "error: " message holding every part, and no stack trace. */
    static void fails(CliTest.Run r, String... parts) {
        assertEquals(1, r.status(), r.out() + r.err());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "'" + p + "' not in: " + r.err());
    }

    /** A copy of the tiny GPT-2 with {@code from} replaced by {@code to} in config.json. */
    private Path tinyWithConfig(String from, String to) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        try (var files = Files.list(TINY)) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        String config = Files.readString(dir.resolve("config.json"));
        assertTrue(config.contains(from), from);
        Files.writeString(dir.resolve("config.json"), config.replace(from, to));
        return dir;
    }

    @Test
    void anAdapterWhoseWeightsOverflowFailsEvalAndGenerateInsteadOfPrintingNaN() {
        CausalLm model = ModelLoader.load(TINY);
        LoraConfig config = LoraConfig.defaults("gpt2").withR(2);
        LoraInjector.apply(model, config, 1);
        LoraInjector.loraLayers(model).values().forEach(l -> Arrays.fill(l.loraB().data(), 3e38f));   // finite, overflows in use
        Path adapter = tmp.resolve("overflowing");
        AdapterIO.save(adapter, model, config);

        fails(CliTest.run("eval", "--model", TINY.toString(), "--adapter", adapter.toString(), "--data", VALID, "--json"),
                "the loss over", "valid.txt", "is NaN", "non-finite");
        CliTest.Run gen = CliTest.run("generate", "--model", TINY.toString(), "--adapter", adapter.toString(), "--prompt", "Call me Ishmael.",
                "--max-new-tokens", "5", "--temperature", "0");
        assertEquals(1, gen.status(), gen.out() + gen.err());
        assertTrue(gen.err().startsWith("error: the model's logits are not finite"), gen.err());
        assertFalse(gen.out().contains("!!"), "no garbage was sampled: " + gen.out());
    }

    /** The command line does not depend on Spark: without lora4j-spark, --spark-master says where to get it and writes nothing. */
    @Test
    void dataParallelTrainingWithoutLoraSparkOnTheClassPathSaysHowToGetIt() {
        Path out = tmp.resolve("spark");
        fails(CliTest.run("train", "--model", TINY.toString(), "--data", VALID, "--out", out.toString(), "--spark-master", "local[2]"),
                "--spark-master needs lora4j-spark on the class path");
        fails(CliTest.run("train", "--model", TINY.toString(), "--data", VALID, "--out", out.toString(), "--workers", "2"),
                "--workers is for data-parallel training: give --spark-master too");
        assertTrue(Files.notExists(out));
    }

    @Test
    void nanOrNegativeEpsilonInConfigIsRefused() throws IOException {
        Path nan = tinyWithConfig("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": NaN");
        fails(CliTest.run("eval", "--model", nan.toString(), "--data", VALID), "config.json: field 'layer_norm_epsilon' is NaN",
                "expected a positive finite number");
    }

    @Test
    void configSizesTheCheckpointLacksFailBeforeAllocating() throws IOException {
        Path deep = tinyWithConfig("\"n_layer\": 2", "\"n_layer\": 100000");
        CliTest.Run r = CliTest.run("inspect", deep.toString());
        assertEquals(1, r.status(), r.out() + r.err());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("the config's n_layer is 100000, but the weights hold 2 layers"), r.err());
    }

    @Test
    void trainRefusesANegativeAlphaAndARankNoLayerHas() {
        String[] base = {"train", "--model", TINY.toString(), "--data", VALID, "--out", tmp.resolve("out").toString(), "--dry-run"};
        fails(CliTest.run(concat(base, "--alpha", "-16")), "--alpha (field 'lora_alpha') is -16.0", "expected a positive finite number");
        fails(CliTest.run(concat(base, "--rank", "100000000")), "--rank (field 'r') is 100000000", "at most min(in, out) = 16");
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFifoGivenAsDataIsRefusedInsteadOfBlocking() throws Exception {
        Path fifo = tmp.resolve("data.txt");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, p.waitFor());
        fails(CliTest.run("eval", "--model", TINY.toString(), "--data", fifo.toString()), "data.txt: is a FIFO (named pipe), not a regular file");
    }

    @Test
    void aHugeClassIdIsRefusedBeforeAHeadIsBuiltForIt() throws IOException {
        Path data = Files.writeString(tmp.resolve("labels.jsonl"), "{\"text\": \"good\", \"label\": 0}\n{\"text\": \"bad\", \"label\": 999999999}\n");
        fails(CliTest.run("train", "--task", "seq-cls", "--model", TESTDATA.resolve("bert-tiny").toString(), "--data", data.toString(),
                "--out", tmp.resolve("out").toString(), "--dry-run"), "labels.jsonl:2: label 999999999 is a class id", "must be below 20");
    }

    @Command(name = "oom")
    static final class OutOfMemory implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new OutOfMemoryError("Java heap space");
        }
    }

    @Test
    void runningOutOfMemoryEndsInOneLineWithHeapAdvice() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = new CommandLine(new Main()).addSubcommand(new OutOfMemory());
        int status = Main.execute(cli, new PrintWriter(out, true), new PrintWriter(err, true), "oom");
        fails(new CliTest.Run(status, out.toString(), err.toString()), "error: out of memory (Java heap space; the heap may grow to ",
                "LORA4J_JAVA_OPTS=-Xmx16g ./lora4j");
    }

    @Test
    void controlCharactersInMessagesArePrintedEscaped() throws IOException {
        String evil = "x\u001b]0;pwned\u0007\u001b[2J.txt";
        CliTest.Run r = CliTest.run("eval", "--model", TINY.toString(), "--data", tmp.resolve(evil).toString());
        fails(r, "x\\x1b]0;pwned\\x07\\x1b[2J.txt: not found");
        CliTest.Run nul = CliTest.run("eval", "--model", TINY.toString(), "--data", "a\u0000b.txt");
        assertEquals(2, nul.status(), nul.err());
        assertTrue(nul.err().contains("a\\x00b.txt"), nul.err());

        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        Files.writeString(adapter.resolve(AdapterIO.CONFIG_FILE), LoraConfig.defaults("gpt2").toJson());
        SafetensorsWriter.write(adapter.resolve(AdapterIO.WEIGHTS_FILE), Map.of("base_model.model.\u001b[31mred\u009b", Tensor.zeros(1)), Map.of());
        CliTest.Run keys = CliTest.run("eval", "--model", TINY.toString(), "--adapter", adapter.toString(), "--data", VALID);
        assertEquals(1, keys.status(), keys.err());
        assertTrue(keys.err().contains("tensors that map to no adapter parameter (1): base_model.model.\\x1b[31mred\\u009b\n  missing"), keys.err());
        for (CliTest.Run run : List.of(r, nul, keys)) {
            assertTrue(run.err().chars().noneMatch(c -> (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c < 0xa0)), run.err());
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
