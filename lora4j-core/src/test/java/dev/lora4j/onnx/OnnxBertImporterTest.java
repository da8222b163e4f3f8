package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertOnnx;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The BERT view of the real all-MiniLM-L6-v2 export (DATA.md's facts) and of variants of its graph. */
class OnnxBertImporterTest {
    private static final OnnxBertConfig MINILM = new OnnxBertConfig("bert", 30522, 384, 6, 12, 1536, "gelu", 512, 2, 1e-12, 0);
    private static OnnxModel model;
    private static OnnxBert bert;

    @BeforeAll
    static void load() {
        model = MiniLm.model();
        bert = OnnxBertImporter.read(model);
    }

    /** The HF BertModel keys (no pooler), in checkpoint order, written out here independently. */
    private static List<String> hfKeys(int layers) {
        List<String> keys = new ArrayList<>(List.of("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"));
        for (int l = 0; l < layers; l++) {
            for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                    "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")) {
                keys.add("encoder.layer." + l + "." + m + ".weight");
                keys.add("encoder.layer." + l + "." + m + ".bias");
            }
        }
        return keys;
    }

    @Test
    void recoversTheConfigAndSizeOfAllMiniLm() {
        assertEquals(MINILM, bert.config());
        assertEquals(32, bert.config().headDim());
        assertEquals(22_565_376, bert.parameterCount());
        BertConfig config = BertOnnx.config(bert, "recovered");
        assertEquals("bert", config.modelType());
        assertEquals(12, config.numAttentionHeads());
        assertEquals(1e-12f, config.layerNormEps());
        assertEquals(BertConfig.Activation.GELU, config.hiddenAct());
    }

    @Test
    void namesEveryWeightAndTheAnonymousMatricesByTheirMatMul() {
        assertEquals(hfKeys(6), List.copyOf(bert.weights().keySet()));
        for (OnnxWeight w : bert.weights().values()) {
            if (w.initializer().startsWith("onnx::MatMul_")) {
                assertTrue(w.transposed(), w.key());
                String module = w.key().substring(0, w.key().length() - ".weight".length());
                String node = "/" + module.replace('.', '/').replace("layer/", "layer.") + "/MatMul";
                assertEquals(List.of(node), model.graph().consumers(w.initializer()).stream().map(OnnxNode::name).toList());
            } else {
                assertEquals(w.key(), w.initializer());
                assertTrue(!w.transposed(), w.key());
            }
        }
        assertEquals(36, bert.weights().values().stream().filter(OnnxWeight::transposed).count());
    }

    @Test
    void weightsComeInTheHfLayout() {
        String key = "encoder.layer.2.intermediate.dense.weight";
        Tensor hf = bert.tensor(key);
        assertArrayEquals(new int[] {1536, 384}, hf.shape().dims());
        float[] stored = model.graph().initializer(bert.weights().get(key).initializer()).orElseThrow().floats(); // [384, 1536]
        for (int o = 0; o < 1536; o += 97) {
            for (int i = 0; i < 384; i += 31) assertEquals(stored[i * 1536 + o], hf.data()[o * 384 + i]);
        }
        assertArrayEquals(model.graph().initializer("embeddings.word_embeddings.weight").orElseThrow().floats(),
                bert.stateDict().get("embeddings.word_embeddings.weight").data());
    }

    @Test
    void anonymousOrPrefixedInitializersMapToTheSameWeights() {
        OnnxModel anonymous = GraphEdits.renameInitializers(model, n -> "onnx::T_" + Integer.toHexString(n.hashCode()));
        assertSameWeights(OnnxBertImporter.read(anonymous));
        OnnxModel wrapped = GraphEdits.withNodes(GraphEdits.renameInitializers(model, n -> "0.auto_model." + n),
                n -> new OnnxNode("/0/auto_model" + n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), n.attributes()),
                List.of());
        assertSameWeights(OnnxBertImporter.read(wrapped));
    }

    private static void assertSameWeights(OnnxBert other) {
        assertEquals(MINILM, other.config());
        Map<String, Boolean> transposed = new LinkedHashMap<>();
        bert.weights().forEach((k, w) -> transposed.put(k, w.transposed()));
        Map<String, Boolean> otherTransposed = new LinkedHashMap<>();
        other.weights().forEach((k, w) -> otherTransposed.put(k, w.transposed()));
        assertEquals(transposed, otherTransposed);
        for (String key : List.of("embeddings.LayerNorm.weight", "encoder.layer.4.output.dense.bias", "encoder.layer.1.attention.self.value.weight")) {
            assertArrayEquals(bert.tensor(key).data(), other.tensor(key).data(), key);
        }
    }

    @Test
    void layerNormalizationNodesGiveTheirEpsilonAttribute() {
        Set<String> lnModules = bert.weights().keySet().stream().filter(k -> k.endsWith("LayerNorm.weight"))
                .map(k -> k.substring(0, k.length() - ".weight".length())).collect(Collectors.toSet());
        List<OnnxNode> fused = new ArrayList<>();
        for (String m : lnModules) {
            String path = "/" + m.replace('.', '/').replace("layer/", "layer.");
            fused.add(GraphEdits.node(path + "/LayerNormalization", "LayerNormalization", List.of(path + "/in", m + ".weight", m + ".bias"),
                    List.of(path + "/out"), new OnnxAttribute("epsilon", OnnxAttribute.Type.FLOAT, 1e-5f)));
        }
        OnnxModel opset17 = GraphEdits.withNodes(model, n -> {
            String module = BertGraphFacts.modulePath(n.name());
            return module != null && module.endsWith("LayerNorm") ? null : n;
        }, fused);
        assertEquals(1e-5, OnnxBertImporter.read(opset17).config().layerNormEps());
    }

    @Test
    void headsFallBackToTheScoreScaleAndRobertaIsRecognised() {
        assertEquals(12, OnnxBertImporter.read(GraphEdits.withoutNodes(model, n -> n.opType().equals("Reshape"))).config().numAttentionHeads());
        OnnxModel roberta = GraphEdits.withNodes(model, n -> n, List.of(GraphEdits.constant("/embeddings/pad", 1L),
                GraphEdits.node("/embeddings/Equal", "Equal", List.of("input_ids", "/embeddings/pad"), List.of("/embeddings/eq")),
                GraphEdits.node("/embeddings/CumSum", "CumSum", List.of("/embeddings/eq", "/embeddings/axis"), List.of("/embeddings/cs"))));
        OnnxBertConfig c = OnnxBertImporter.read(roberta).config();
        assertEquals(List.of("roberta", 1), List.of(c.modelType(), c.padTokenId()));
        assertTrue(BertOnnx.config(OnnxBertImporter.read(roberta), "roberta graph").isRoberta());
    }

    @Test
    void missingPiecesAreNamed() {
        String msg = error(GraphEdits.withoutNodes(model, n -> n.name().equals("/encoder/layer.3/attention/self/query/MatMul")));
        assertTrue(msg.startsWith("classpath:/all-minilm-l6-v2.onnx: not a BERT encoder"), msg);
        assertTrue(msg.contains("missing encoder.layer.3.attention.self.query.weight [384, 384]"), msg);
        assertTrue(msg.contains("initializer 'onnx::MatMul_826' [384, 384] is not a BERT weight (read by [])"), msg);

        msg = error(GraphEdits.withoutNodes(model, n -> n.opType().equals("Erf")));
        assertTrue(msg.contains("cannot find the activation"), msg);
        msg = error(GraphEdits.withoutNodes(model, n -> n.opType().equals("Reshape") || n.opType().equals("Div")));
        assertTrue(msg.contains("cannot find the number of attention heads"), msg);
        String eps = "/encoder/layer.2/output/LayerNorm/Constant_1_output_0";
        msg = error(GraphEdits.withNodes(model, n -> n.outputs().contains(eps) ? GraphEdits.constant(eps, 1e-5f) : n, List.of()));
        assertTrue(msg.contains("different values for the LayerNorm epsilon: [1.0E-12, 1.0E-5]"), msg);
    }

    private static String error(OnnxModel m) {
        return assertThrows(Lora4jException.class, () -> OnnxBertImporter.read(m)).getMessage();
    }
}
