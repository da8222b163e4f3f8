package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train --task seq-cls → eval / classify / embed through the CLI on the tiny BERT and the labelled fixture. */
class SeqClsCliTest {
    private static final Path TESTDATA = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
    private static final String TINY = TESTDATA.resolve("bert-tiny").toString();
    private static final String TRAIN = TESTDATA.resolve("labelled/train.jsonl").toString();
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void trainThenEvalClassifyAndEmbed() throws IOException {
        Path out = tmp.resolve("adapter");
        CliTest.Run train = CliTest.run("train", "--task", "seq-cls", "--model", TINY, "--data", TRAIN,
                "--eval-data", TESTDATA.resolve("labelled/valid.csv").toString(), "--out", out.toString(), "--rank", "4",
                "--lr", "2e-2", "--schedule", "constant", "--max-steps", "100", "--batch-size", "16", "--seed", "3",
                "--eval-every", "50", "--save-every", "50");
        assertEquals(0, train.status(), train.err());
        for (String s : List.of("new (seeded) head parameters: classifier.weight, classifier.bias", "on 4 modules",
                "trained in full: classifier, score", "labels: [negative, positive]", "step 100: eval loss")) {
            assertTrue(train.out().contains(s), s + " in:\n" + train.out());
        }
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors", "label_map.json", "metrics.jsonl",
                "checkpoints/checkpoint-100/label_map.json", "checkpoints/checkpoint-100/trainer_state.json")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(metrics.get(metrics.size() - 2)), summary = JSON.readTree(metrics.getLast());
        assertTrue(last.has("eval_accuracy") && last.has("eval_macro_f1"), last.toString());
        assertEquals(4 * (4 * 32 + 32 * 4) + 66, summary.get("trainable_params").asLong(), summary.toString());   // 4 × (A, B) at r=4 + head
        assertTrue(summary.get("peak_rss_mb").asDouble() > 10 && summary.get("train_runtime_s").asDouble() > 0, summary.toString());
        assertTrue(summary.get("train_cores_busy").asDouble() > 0, summary.toString());   // CPU time ÷ wall time of the steps
        assertTrue(train.out().contains("peak memory (resident set of the process): "), train.out());

        JsonNode eval = json(CliTest.run("eval", "--model", TINY, "--adapter", out.toString(), "--data",
                TESTDATA.resolve("labelled/valid.tsv").toString(), "--json"));
        assertTrue(eval.get("accuracy").asDouble() >= 0.85, eval.toString());
        assertEquals(last.get("eval_accuracy").asDouble(), eval.get("accuracy").asDouble(), 1e-9, "the same texts as valid.csv");
        assertEquals("[\"negative\",\"positive\"]", eval.get("labels").toString());
        long total = 0;
        for (JsonNode row : eval.get("confusion_matrix")) for (JsonNode v : row) total += v.asLong();
        assertEquals(16, total);
        CliTest.Run table = CliTest.run("eval", "--model", TINY, "--adapter", out.toString(), "--data", TESTDATA.resolve("labelled/valid.csv").toString());
        assertTrue(table.out().contains("confusion matrix (rows: actual, columns: predicted)") && table.out().contains("macro-F1"), table.out());

        List<String> texts = Files.readAllLines(TESTDATA.resolve("labelled/valid.tsv")).stream().skip(1).toList();
        List<String> args = new java.util.ArrayList<>(List.of("classify", "--model", TINY, "--adapter", out.toString(), "--json"));
        texts.forEach(t -> args.addAll(List.of("--text", t.split("\t")[0])));
        CliTest.Run classify = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, classify.status(), classify.err());
        List<String> lines = classify.out().lines().toList();
        assertEquals(texts.size(), lines.size());
        int right = 0;
        for (int i = 0; i < lines.size(); i++) {
            JsonNode o = JSON.readTree(lines.get(i));
            assertEquals(1.0, o.get("probabilities").get("negative").asDouble() + o.get("probabilities").get("positive").asDouble(), 1e-6);
            if (o.get("label").asText().equals(texts.get(i).split("\t")[1])) right++;
        }
        assertEquals(eval.get("accuracy").asDouble(), right / (double) texts.size(), 1e-9, "classify agrees with eval");
        CliTest.Run one = CliTest.run("classify", "--model", TINY, "--adapter", out.toString(), "--text", "the film was great");
        assertTrue(one.out().matches("(?s)(negative|positive) 0\\.\\d{4}  \\(negative 0\\.\\d{4}, positive 0\\.\\d{4}\\)  the film was great\\R"), one.out());

        JsonNode plain = json(CliTest.run("embed", "--model", TINY, "--text", "the film was great", "--json"));
        JsonNode adapted = json(CliTest.run("embed", "--model", TINY, "--adapter", out.toString(), "--text", "the film was great", "--json"));
        assertEquals(32, plain.get("dimensions").asInt());
        double norm = 0;
        for (JsonNode x : plain.get("embeddings").get(0)) norm += x.asDouble() * x.asDouble();
        assertEquals(1.0, norm, 1e-5);
        assertFalse(plain.get("embeddings").equals(adapted.get("embeddings")), "the adapter's LoRA layers change the encoder");
        CliTest.Run text = CliTest.run("embed", "--model", TINY, "--text", "good", "--text", "bad");
        assertEquals(2, text.out().lines().count());
        assertEquals(32, text.out().lines().findFirst().orElseThrow().split(" ").length);
    }

    @Test
    void headOnlyTrainsTheHeadOnTheFrozenEncoder() throws IOException {
        Path out = tmp.resolve("head");
        CliTest.Run train = CliTest.run("train", "--task", "seq-cls", "--model", TINY, "--data", TRAIN, "--out", out.toString(),
                "--head-only", "--lr", "2e-2", "--schedule", "constant", "--max-steps", "20", "--batch-size", "16", "--seed", "3");
        assertEquals(0, train.status(), train.err());
        for (String s : List.of("head only: encoder frozen, no LoRA; trained in full: classifier, score", "trainable params: 66 ||",
                "wrote the head (as an adapter) to")) {
            assertTrue(train.out().contains(s), s + " in:\n" + train.out());
        }
        JsonNode eval = json(CliTest.run("eval", "--model", TINY, "--adapter", out.toString(), "--data",
                TESTDATA.resolve("labelled/valid.tsv").toString(), "--json"));
        assertEquals(16, eval.get("examples").asInt());
        JsonNode plain = json(CliTest.run("embed", "--model", TINY, "--text", "the film was great", "--json"));
        JsonNode adapted = json(CliTest.run("embed", "--model", TINY, "--adapter", out.toString(), "--text", "the film was great", "--json"));
        assertEquals(plain.get("embeddings"), adapted.get("embeddings"), "the encoder is the base model's");

        CliTest.Run targets = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("t").toString(), "--head-only",
                "--targets", "query", "--dry-run");
        assertEquals(1, targets.status());
        assertTrue(targets.err().contains("--head-only trains no LoRA"), targets.err());
    }

    @Test
    void fullFineTuningWritesAModelThatEvalAndClassifyLoad() throws IOException {
        Path out = tmp.resolve("full");
        CliTest.Run train = CliTest.run("train", "--task", "seq-cls", "--model", TINY, "--data", TRAIN, "--out", out.toString(),
                "--full", "--lr", "3e-3", "--schedule", "constant", "--max-steps", "60", "--batch-size", "16", "--seed", "3",
                "--eval-data", TESTDATA.resolve("labelled/valid.csv").toString());
        assertEquals(0, train.status(), train.err());
        assertTrue(train.out().contains("full fine-tuning: 22,562 trainable parameters") && train.out().contains("wrote the model to"), train.out());
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl", "checkpoints/checkpoint-60/model.safetensors")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(metrics.get(metrics.size() - 2));
        assertEquals(22_562, JSON.readTree(metrics.getLast()).get("trainable_params").asLong());
        JsonNode eval = json(CliTest.run("eval", "--model", out.toString(), "--data", TESTDATA.resolve("labelled/valid.tsv").toString(), "--json"));
        assertEquals(last.get("eval_accuracy").asDouble(), eval.get("accuracy").asDouble(), 1e-9, "the saved model is the trained one");
        assertTrue(eval.get("accuracy").asDouble() >= 0.85, eval.toString());
        CliTest.Run one = CliTest.run("classify", "--model", out.toString(), "--text", "the film was great");
        assertEquals(0, one.status(), one.err());

        CliTest.Run both = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("b").toString(), "--full", "--head-only");
        assertEquals(1, both.status());
        assertTrue(both.err().contains("--full or --head-only, not both"), both.err());
    }

    @Test
    void bf16BaseWeightsTrainLoraAndHeadOnly() throws IOException {
        for (String mode : List.of("--rank=4", "--head-only")) {
            Path out = tmp.resolve("bf16" + mode.length());
            CliTest.Run train = CliTest.run("train", "--task", "seq-cls", "--model", TINY, "--data", TRAIN, "--out", out.toString(), mode,
                    "--base-dtype", "bf16", "--lr", "2e-2", "--max-steps", "5", "--batch-size", "16", "--save-every", "0");
            assertEquals(0, train.status(), train.err());
            assertTrue(train.out().contains("frozen base weights stored as bfloat16: "), train.out());
            JsonNode eval = json(CliTest.run("eval", "--model", TINY, "--adapter", out.toString(), "--data",
                    TESTDATA.resolve("labelled/valid.tsv").toString(), "--json"));
            assertEquals(16, eval.get("examples").asInt());
        }
        CliTest.Run bad = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("x").toString(), "--base-dtype", "fp8");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("--base-dtype 'fp8' is not one of f32, bf16, q8_0, q4_0, nf4"), bad.err());
        CliTest.Run full = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("y").toString(), "--full", "--base-dtype", "bf16");
        assertEquals(1, full.status());
        assertTrue(full.err().contains("--full freezes none"), full.err());
    }

    @Test
    void errorsNameWhatIsWrong() throws IOException {
        CliTest.Run noHead = CliTest.run("classify", "--model", TINY, "--text", "good");
        assertEquals(1, noHead.status());
        assertTrue(noHead.err().contains("has no classification head") && noHead.err().contains("--adapter"), noHead.err());

        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"good\", \"label\": \"positive\"}\n{\"text\": \"meh\"}\n");
        CliTest.Run train = CliTest.run("train", "--model", TINY, "--data", bad.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(1, train.status());
        assertTrue(train.err().contains("bad.jsonl:2: \"label\" is missing"), train.err());

        CliTest.Run task = CliTest.run("train", "--task", "ner", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("y").toString());
        assertEquals(1, task.status());
        assertTrue(task.err().contains("--task 'ner'"), task.err());

        CliTest.Run dry = CliTest.run("train", "--model", TINY, "--data", TRAIN, "--out", tmp.resolve("z").toString(), "--targets", "all-linear", "--dry-run");
        assertEquals(0, dry.status(), dry.err());
        String adapted = dry.out().substring(dry.out().indexOf("LoRA"), dry.out().indexOf("; trained in full"));
        assertTrue(adapted.contains("on 13 modules") && adapted.contains("bert.pooler.dense") && !adapted.contains("classifier"),
                "all-linear: every linear but the head (in modules_to_save): " + adapted);
        assertFalse(Files.exists(tmp.resolve("z")));
    }

    private static JsonNode json(CliTest.Run r) throws IOException {
        assertEquals(0, r.status(), r.err());
        return JSON.readTree(r.out());
    }
}
