package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GGUF base through the CLI, as the README shows it: inspect, train a LoRA on it, eval and generate with the adapter
 * (the same numbers as on the HF directory the GGUF came from), to-gguf for the adapter and for the merged model, merge
 * into a Hugging Face directory; and to-gguf's output rules and usage errors.
 */
class GgufCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final String GGUF = TESTDATA.resolve("gguf/tiny-llama.gguf").toString();
    private static final String HF = TESTDATA.resolve("gguf/tiny-llama").toString();
    private static final String TRAIN = TESTDATA.resolve("moby-dick/train.txt").toString();
    private static final String VALID = TESTDATA.resolve("moby-dick/valid.txt").toString();

    @TempDir
    Path tmp;

    private static JsonNode json(CliTest.Run r) throws IOException {
        assertEquals(0, r.status(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void trainEvalGenerateAndExportOnAGgufBase() throws IOException {
        JsonNode inspect = json(CliTest.run("inspect", GGUF, "--json"));
        assertEquals("llama", inspect.get("model_type").asText());
        assertEquals(14, inspect.get("target_modules").size());

        Path adapter = tmp.resolve("adapter");
        CliTest.Run train = CliTest.run("train", "--model", GGUF, "--data", TRAIN, "--out", adapter.toString(), "--targets", "q_proj,k_proj,v_proj",
                "--rank", "4", "--lr", "1e-2", "--max-steps", "3", "--batch-size", "2", "--seq-len", "32", "--rslora");
        assertEquals(0, train.status(), train.err());
        double onGguf = json(CliTest.run("eval", "--model", GGUF, "--adapter", adapter.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        double onHf = json(CliTest.run("eval", "--model", HF, "--adapter", adapter.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(onHf, onGguf, 0.0, "the GGUF and the directory it came from are the same model");

        String[] gen = {"--prompt", "Call me Ishmael.", "--max-new-tokens", "8", "--temperature", "0"};
        CliTest.Run a = CliTest.run(concat(new String[] {"generate", "--model", GGUF, "--adapter", adapter.toString()}, gen));
        CliTest.Run b = CliTest.run(concat(new String[] {"generate", "--model", HF, "--adapter", adapter.toString()}, gen));
        assertEquals(0, a.status(), a.err());
        assertEquals(b.out(), a.out());

        Path lora = tmp.resolve("adapter.gguf");
        CliTest.Run export = CliTest.run("to-gguf", "--model", GGUF, "--adapter", adapter.toString(), "--lora-only", "--out", lora.toString());
        assertEquals(0, export.status(), export.err());
        try (GgufFile f = GgufFile.open(lora)) {
            assertEquals("adapter", f.string("general.type"));
            assertEquals(4 * Math.sqrt(4) * 2, f.real("adapter.lora.alpha"), 1e-6, "rsLoRA: alpha·√r (alpha defaults to 2·r)");
            assertEquals(12, f.tensors().size());
        }
        CliTest.Run again = CliTest.run("to-gguf", "--model", GGUF, "--adapter", adapter.toString(), "--lora-only", "--out", lora.toString());
        assertEquals(1, again.status());
        assertTrue(again.err().contains("--overwrite") || again.err().contains("replace it explicitly"), again.err());
        assertEquals(0, CliTest.run("to-gguf", "--model", GGUF, "--adapter", adapter.toString(), "--lora-only", "--out", lora.toString(), "--overwrite").status());

        Path merged = tmp.resolve("merged.gguf");
        assertEquals(0, CliTest.run("to-gguf", "--model", GGUF, "--adapter", adapter.toString(), "--out", merged.toString(), "--outtype", "f32").status());
        double ofMerged = json(CliTest.run("eval", "--model", merged.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(onGguf, ofMerged, 1e-5 * onGguf);

        Path hfDir = tmp.resolve("merged-hf");
        CliTest.Run merge = CliTest.run("merge", "--model", GGUF, "--adapter", adapter.toString(), "--out", hfDir.toString());
        assertEquals(0, merge.status(), merge.err());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) assertTrue(Files.exists(hfDir.resolve(f)), f);
        double ofHfDir = json(CliTest.run("eval", "--model", hfDir.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(onGguf, ofHfDir, 1e-5 * onGguf);
    }

    /** DoRA on a GGUF base and on a 4-bit one: the merged GGUF and HF directory give the adapter's loss; llama.cpp's LoRA form cannot hold it. */
    @Test
    void doraMergesIntoAGgufAndIsRefusedAsALlamaCppAdapter() throws IOException {
        Path adapter = tmp.resolve("dora");
        CliTest.Run train = CliTest.run("train", "--model", GGUF, "--data", TRAIN, "--out", adapter.toString(), "--use-dora",
                "--rank", "4", "--lr", "1e-2", "--max-steps", "3", "--batch-size", "2", "--seq-len", "32");
        assertEquals(0, train.status(), train.err());
        double withAdapter = json(CliTest.run("eval", "--model", GGUF, "--adapter", adapter.toString(), "--data", VALID, "--seq-len", "32", "--json"))
                .get("loss").asDouble();
        Path merged = tmp.resolve("dora-merged.gguf");
        assertEquals(0, CliTest.run("to-gguf", "--model", GGUF, "--adapter", adapter.toString(), "--out", merged.toString(), "--outtype", "f32").status());
        double ofMerged = json(CliTest.run("eval", "--model", merged.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(withAdapter, ofMerged, 1e-5 * withAdapter);
        Path hfDir = tmp.resolve("dora-hf");
        assertEquals(0, CliTest.run("merge", "--model", GGUF, "--adapter", adapter.toString(), "--out", hfDir.toString()).status());
        double ofHfDir = json(CliTest.run("eval", "--model", hfDir.toString(), "--data", VALID, "--seq-len", "32", "--json")).get("loss").asDouble();
        assertEquals(withAdapter, ofHfDir, 1e-5 * withAdapter);
        CliTest.Run loraOnly = CliTest.run("to-gguf", "--model", GGUF, "--adapter", adapter.toString(), "--lora-only", "--out", tmp.resolve("d.gguf").toString());
        assertEquals(1, loraOnly.status());
        assertTrue(loraOnly.err().contains("a DoRA adapter (use_dora) has no llama.cpp LoRA form"), loraOnly.err());
        assertTrue(Files.notExists(tmp.resolve("d.gguf")), "no half-written output");

        CliTest.Run q4 = CliTest.run("train", "--model", HF, "--data", TRAIN, "--out", tmp.resolve("dora-q4").toString(), "--use-dora",
                "--base-dtype", "q4_0", "--max-steps", "2", "--batch-size", "2", "--seq-len", "16", "--lr", "1e-2");
        assertEquals(0, q4.status(), q4.err());
        JsonNode onQ4 = json(CliTest.run("eval", "--model", HF, "--adapter", tmp.resolve("dora-q4").toString(), "--data", VALID, "--seq-len", "16", "--json"));
        assertTrue(Double.isFinite(onQ4.get("loss").asDouble()));
    }

    @Test
    void trainsOnAQuantizedBase() throws IOException {
        for (String dtype : new String[] {"q8_0", "q4_0", "nf4"}) {
            Path out = tmp.resolve(dtype);
            CliTest.Run r = CliTest.run("train", "--model", HF, "--data", TRAIN, "--out", out.toString(), "--base-dtype", dtype,
                    "--max-steps", "2", "--batch-size", "2", "--seq-len", "16", "--lr", "1e-2");
            assertEquals(0, r.status(), r.err());
            assertTrue(Files.exists(out.resolve("adapter_model.safetensors")));
            List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
            JsonNode last = new ObjectMapper().readTree(metrics.get(metrics.size() - 1));
            double f32Mb = 4.0 * last.get("total_params").asLong() / 1e6;
            assertTrue(last.get("weights_mb").asDouble() < 0.35 * f32Mb,
                    dtype + ": the base is held in its blocks (" + last.get("weights_mb") + " MB of " + f32Mb + " as float32)");
        }
        CliTest.Run full = CliTest.run("train", "--model", HF, "--data", TRAIN, "--out", tmp.resolve("full").toString(), "--base-dtype", "nf4", "--full");
        assertEquals(1, full.status());
        assertTrue(full.err().contains("--base-dtype nf4 stores frozen weights; --full freezes none"), full.err());
        CliTest.Run bad = CliTest.run("train", "--model", HF, "--data", TRAIN, "--out", tmp.resolve("bad").toString(), "--base-dtype", "q3_k");
        assertTrue(bad.err().contains("--base-dtype 'q3_k' is not one of f32, bf16, q8_0, q4_0, nf4"), bad.err());
    }

    @Test
    void toGgufRefusesBadUsageAndForeignFiles() throws IOException {
        CliTest.Run r = CliTest.run("to-gguf", "--model", HF, "--out", tmp.resolve("x.gguf").toString(), "--outtype", "q4_k");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("--outtype 'q4_k' is not one of f32, f16, bf16, q8_0"), r.err());
        r = CliTest.run("to-gguf", "--model", HF, "--out", tmp.resolve("x.gguf").toString(), "--lora-only");
        assertTrue(r.err().contains("--lora-only writes an adapter: give it with --adapter"), r.err());
        Path foreign = Files.writeString(tmp.resolve("mine.gguf"), "not lora4j's");
        r = CliTest.run("to-gguf", "--model", HF, "--out", foreign.toString(), "--overwrite");
        assertEquals(1, r.status());
        assertEquals("not lora4j's", Files.readString(foreign), "a file lora4j did not write is never replaced");
        Path bad = Files.write(tmp.resolve("bad.gguf"), new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        r = CliTest.run("eval", "--model", bad.toString(), "--data", VALID);
        assertEquals(1, r.status());
        assertTrue(r.err().contains("bad.gguf: truncated") && !r.err().contains("\tat "), r.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
