// Hostile inputs through the CLI: each must end in exit status 1 and one "error: ..." line that names the file,
// field or flag, never a NaN printed as a result, a stack trace, or raw control characters.
package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.CausalLm;
import dev.lora4j.model.ModelLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        fails(CliTest.run(concat(base, "--alpha", "-16")), "'lora_alpha' is -16.0", "expected a positive finite number");
        fails(CliTest.run(concat(base, "--rank", "100000000")), "'r' is 100000000", "at most min(in, out) = 16");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
