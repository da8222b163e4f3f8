package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins the reference: the bundled tokenizer.json and ONNX Runtime on the real file give the token ids
 * and sentence embeddings that DATA.md records (computed independently, as langchain4j does).
 */
class OnnxRuntimeReferenceTest {
    private static final String HELLO = "hello world", FOX = "The quick brown fox jumps over the lazy dog.";
    private static final int[] HELLO_IDS = {101, 7592, 2088, 102};
    private static final int[] FOX_IDS = {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102};
    private static final float[] HELLO_EMBEDDING =
            {-0.0344773f, 0.0310232f, 0.0067349f, 0.0261089f, -0.0393620f, -0.1603025f, 0.0669240f, -0.0064414f};
    private static final float[] FOX_EMBEDDING =
            {0.0439336f, 0.0589344f, 0.0481784f, 0.0775481f, 0.0267444f, -0.0376295f, -0.0026050f, -0.0599430f};

    @Test
    void tokenizerFramesTextsAsTheKnownIds() {
        try (Tokenizer t = Tokenizer.load(MiniLm.tokenizerDir())) {
            assertArrayEquals(HELLO_IDS, MiniLm.encode(t, HELLO));
            assertArrayEquals(FOX_IDS, MiniLm.encode(t, FOX));
        }
    }

    @Test
    void meanPooledEmbeddingsMatchTheKnownValues() {
        OnnxRuntimeReference ort = OnnxRuntimeReference.miniLm();
        for (int[] ids : List.of(HELLO_IDS, FOX_IDS)) {
            float[][][] hidden = ort.lastHiddenState(List.of(ids));
            assertEquals(List.of(1, ids.length, 384), List.of(hidden.length, hidden[0].length, hidden[0][0].length));
            float[] embedding = OnnxRuntimeReference.meanPooledNormalized(hidden[0], ids.length);
            assertArrayEquals(ids == HELLO_IDS ? HELLO_EMBEDDING : FOX_EMBEDDING, Arrays.copyOf(embedding, 8), 1e-5f);
        }
    }

    @Test
    void paddedBatchGivesEachSequenceItsOwnHiddenStates() {
        OnnxRuntimeReference ort = OnnxRuntimeReference.miniLm();
        float[][][] batch = ort.lastHiddenState(List.of(HELLO_IDS, FOX_IDS));
        float[][][] alone = ort.lastHiddenState(List.of(HELLO_IDS));
        for (int i = 0; i < HELLO_IDS.length; i++) assertArrayEquals(alone[0][i], batch[0][i], 1e-5f);
    }
}
