// train --init-lora-weights pissa through the CLI: the adapter written is PEFT's converted rank-2r LoRA, which on the
// original base gives the loss the in-training model had on the residual base; a resume rebuilds the residual and A0/B0.
package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PiSSA end to end on the SOTU-pretrained tiny GPT-2. */
class PissaCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final String SOTU = TESTDATA.resolve("gpt2-tiny-sotu").toString();
    private static final String TRAIN = TESTDATA.resolve("moby-dick/train.txt").toString();
    private static final String VALID = TESTDATA.resolve("moby-dick/valid.txt").toString();
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void theConvertedAdapterOnTheOriginalBaseGivesTheTrainingLoss() throws IOException {
        Path out = tmp.resolve("pissa");
        CliTest.Run train = train(out, "pissa", "3", "--eval-data", VALID);
        assertEquals(0, train.status(), train.err());
        JsonNode config = JSON.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(8, config.get("r").asInt(), "rank 2r");
        assertEquals(16.0, config.get("lora_alpha").asDouble(), "alpha doubled, the scale kept");
        assertTrue(config.get("init_lora_weights").asBoolean(), "a plain LoRA for the original base");

        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        double inTraining = metrics.stream().map(PissaCliTest::json).filter(m -> m.has("eval_loss") && m.get("step").asInt() == 3)
                .findFirst().orElseThrow().get("eval_loss").asDouble();
        double onOriginal = eval("--adapter", out.toString()).get("loss").asDouble();
        assertEquals(inTraining, onOriginal, 1e-5 * inTraining, "eval of the written adapter on the original base");
        assertTrue(Math.abs(onOriginal - eval().get("loss").asDouble()) > 1e-4, "the adapter changes the model");

        Path unconverted = TESTDATA.resolve("gpt2-golden-pissa");       // as PEFT saves it without the conversion
        CliTest.Run refused = CliTest.run("eval", "--model", TESTDATA.resolve("gpt2-golden").toString(), "--adapter", unconverted.toString(),
                "--data", VALID);
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains(unconverted.resolve("adapter_config.json").toString())
                && refused.err().contains("path_initial_model_for_weight_conversion"), refused.err());

        CliTest.Run dry = train(tmp.resolve("dry"), "pissa", "3", "--dry-run");
        assertEquals(0, dry.status(), dry.err());
        assertTrue(dry.out().contains("transformer.h.1.mlp.c_proj"), dry.out());
    }

    @Test
    void aResumedRunEqualsAnUninterruptedOne() throws IOException {
        Path straight = tmp.resolve("straight"), resumed = tmp.resolve("resumed");
        assertEquals(0, train(straight, "pissa_niter_2", "4").status());
        assertEquals(0, train(resumed, "pissa_niter_2", "2").status());
        CliTest.Run more = train(resumed, "pissa_niter_2", "4", "--resume", "--override", "max_steps");
        assertEquals(0, more.status(), more.err());
        assertArrayEquals(Files.readAllBytes(straight.resolve("adapter_model.safetensors")), Files.readAllBytes(resumed.resolve("adapter_model.safetensors")),
                "the residual base and A0/B0 are rebuilt from the seed on resume");

        CliTest.Run other = train(resumed, "pissa", "4", "--resume");
        assertEquals(1, other.status(), "another init is another run");
        assertTrue(other.err().contains("init_lora_weights"), other.err());
        CliTest.Run bad = train(tmp.resolve("bad"), "pissa_niter_x", "1");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("--init-lora-weights") && bad.err().contains("pissa_niter_x"), bad.err());
    }

    private static CliTest.Run train(Path out, String init, String steps, String... more) {
        return CliTest.run(Stream.concat(Stream.of("train", "--model", SOTU, "--data", TRAIN, "--out", out.toString(), "--targets", "c_attn,c_proj",
                "--rank", "4", "--lr", "1e-2", "--schedule", "constant", "--max-steps", steps, "--batch-size", "4", "--seq-len", "16",
                "--save-every", "2", "--init-lora-weights", init), Stream.of(more)).toArray(String[]::new));
    }

    private static JsonNode eval(String... adapter) {
        CliTest.Run r = CliTest.run(Stream.concat(Stream.of("eval", "--model", SOTU, "--data", VALID, "--seq-len", "16", "--json"), Stream.of(adapter))
                .toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        return json(r.out());
    }

    private static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError(s, e);
        }
    }
}
