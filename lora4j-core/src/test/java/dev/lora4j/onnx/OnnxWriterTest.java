package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writing weights back into the real all-MiniLM-L6-v2 file: untouched bytes stay identical, and ONNX
 * Runtime, run on the written file, sees exactly the change the new weights imply.
 */
class OnnxWriterTest {
    private static final int[] FOX = {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102};
    private static OnnxModel model;
    private static OnnxBert bert;

    @BeforeAll
    static void load() {
        model = MiniLm.model();
        bert = OnnxBertImporter.read(model);
    }

    @Test
    void replacingNothingOrEveryWeightByItselfIsByteIdentical(@TempDir Path dir) throws Exception {
        Path none = dir.resolve("none.onnx");
        OnnxWriter.write(model, Map.of(), none);
        assertArrayEquals(model.file(), Files.readAllBytes(none));
        Path all = dir.resolve("all.onnx");
        bert.write(all, bert.stateDict()); // HF layout out, transposed back in
        assertArrayEquals(model.file(), Files.readAllBytes(all));
    }

    /**
     * Layer 5's output LayerNorm weight and bias doubled double last_hidden_state (its last Mul and Add);
     * layer 0's query doubled and key halved (weights transposed back to [in, out], and biases) leave every
     * attention score as it was. Powers of two are exact in float32, so ORT's output is exactly 2× the original.
     */
    @Test
    void ortRunsTheWrittenFileAndSeesExactlyTheChange(@TempDir Path dir) throws Exception {
        Map<String, Tensor> edits = new LinkedHashMap<>();
        scaled(edits, "encoder.layer.5.output.LayerNorm.weight", 2);
        scaled(edits, "encoder.layer.5.output.LayerNorm.bias", 2);
        scaled(edits, "encoder.layer.0.attention.self.query.weight", 2);
        scaled(edits, "encoder.layer.0.attention.self.query.bias", 2);
        scaled(edits, "encoder.layer.0.attention.self.key.weight", 0.5f);
        scaled(edits, "encoder.layer.0.attention.self.key.bias", 0.5f);
        Path out = dir.resolve("edited.onnx");
        bert.write(out, edits);

        byte[] written = Files.readAllBytes(out);
        assertEquals(model.file().length, written.length);
        long changed = 0;
        for (int i = 0; i < written.length; i++) {
            if (written[i] != model.file()[i]) {
                changed++;
                assertTrue(insideReplacedValues(i, edits.keySet()), "byte " + i + " changed outside the replaced values");
            }
        }
        assertTrue(changed > 0);
        OnnxBert reread = OnnxBertImporter.read(OnnxModel.read(out));
        for (Map.Entry<String, Tensor> e : edits.entrySet()) assertArrayEquals(e.getValue().data(), reread.tensor(e.getKey()).data());

        float[][][] original = OnnxRuntimeReference.miniLm().lastHiddenState(List.of(FOX));
        float[][][] edited;
        try (OnnxRuntimeReference ort = OnnxRuntimeReference.open(written)) {
            edited = ort.lastHiddenState(List.of(FOX));
        }
        for (int t = 0; t < FOX.length; t++) {
            for (int c = 0; c < 384; c++) assertEquals(2 * original[0][t][c], edited[0][t][c], 1e-6f * Math.abs(original[0][t][c]));
        }
    }

    @Test
    void unknownKeysAndWrongShapesAreListedAndNothingIsWritten(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("bad.onnx");
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("pooler.dense.weight", Tensor.zeros(384, 384));
        bad.put("encoder.layer.0.intermediate.dense.weight", Tensor.zeros(384, 1536));
        String msg = assertThrows(Lora4jException.class, () -> bert.write(out, bad)).getMessage();
        assertTrue(msg.contains("'pooler.dense.weight' is not a weight of this model"), msg);
        assertTrue(msg.contains("'encoder.layer.0.intermediate.dense.weight' has shape [384, 1536], expected [1536, 384]"), msg);
        try (var files = Files.list(dir)) {
            assertTrue(files.findAny().isEmpty());
        }
    }

    private static void scaled(Map<String, Tensor> edits, String key, float factor) {
        Tensor t = bert.tensor(key);
        float[] v = t.data();
        for (int i = 0; i < v.length; i++) v[i] *= factor;
        edits.put(key, t);
    }

    private static boolean insideReplacedValues(int offset, Iterable<String> keys) {
        for (String key : keys) {
            ProtoReader.Span s = model.graph().initializer(bert.weights().get(key).initializer()).orElseThrow().payload();
            if (offset >= s.offset() && offset < s.offset() + s.length()) return true;
        }
        return false;
    }
}
