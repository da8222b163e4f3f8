// A BERT (or RoBERTa) ONNX export in miniature, written field by field with TestProto: one layer,
// hidden 4, 2 heads, the node names torch.onnx gives HF BertModel, so OnnxBertImporter accepts it.
// Small enough (a few KB) to be a fuzzing seed where the 90 MB all-MiniLM-L6-v2 would be too slow.
package dev.lora4j.onnx;

import java.util.List;

final class TinyBertOnnx {
    static final int VOCAB = 8, POSITIONS = 6, TYPES = 2, HIDDEN = 4, HEADS = 2, INTERMEDIATE = 8;

    private final TestProto graph = new TestProto().string(2, "main_graph");
    private int values;

    private TinyBertOnnx() {}

    /** The ModelProto bytes; RoBERTa adds the CumSum position ids and the Equal(input_ids, 1) padding mask. */
    static byte[] model(boolean roberta) {
        TinyBertOnnx b = new TinyBertOnnx();
        b.graph.message(11, valueInfo("input_ids", OnnxDataType.INT64, "batch", "sequence"));
        String h = b.embeddings(roberta);
        String p = "/encoder/layer.0/";
        String q = b.linear(p + "attention/self/query", "encoder.layer.0.attention.self.query", h, HIDDEN, HIDDEN);
        b.graph.message(1, node(p + "attention/self/Constant", "Constant", List.of(), List.of("heads_shape"),
                tensorAttribute("value", TestProto.rawTensor("", OnnxDataType.INT64, longsLE(0, 0, HEADS, HIDDEN / HEADS), 4))));
        b.graph.message(1, node(p + "attention/self/Reshape", "Reshape", List.of(q, "heads_shape"), List.of("q_heads")));
        b.initializer("onnx::Div_scale", OnnxDataType.FLOAT, TestProto.floatsLE((float) Math.sqrt(HIDDEN / HEADS)));
        b.graph.message(1, node(p + "attention/self/Div", "Div", List.of("q_heads", "onnx::Div_scale"), List.of("scores")));
        String k = b.linear(p + "attention/self/key", "encoder.layer.0.attention.self.key", h, HIDDEN, HIDDEN);
        String v = b.linear(p + "attention/self/value", "encoder.layer.0.attention.self.value", k, HIDDEN, HIDDEN);
        String o = b.linear(p + "attention/output/dense", "encoder.layer.0.attention.output.dense", v, HIDDEN, HIDDEN);
        String a = b.layerNorm(p + "attention/output/LayerNorm", "encoder.layer.0.attention.output.LayerNorm", o);
        String i = b.linear(p + "intermediate/dense", "encoder.layer.0.intermediate.dense", a, HIDDEN, INTERMEDIATE);
        b.graph.message(1, node(p + "intermediate/intermediate_act_fn/Erf", "Erf", List.of(i), List.of("erf")));
        String d = b.linear(p + "output/dense", "encoder.layer.0.output.dense", "erf", INTERMEDIATE, HIDDEN);
        String out = b.layerNorm(p + "output/LayerNorm", "encoder.layer.0.output.LayerNorm", d);
        b.graph.message(12, valueInfo(out, OnnxDataType.FLOAT, "batch", "sequence", Integer.toString(HIDDEN)));
        return TestProto.model(b.graph);
    }

    private String embeddings(boolean roberta) {
        gather("/embeddings/word_embeddings/Gather", "embeddings.word_embeddings.weight", VOCAB);
        if (roberta) {
            initializer("onnx::Equal_pad", OnnxDataType.INT64, longsLE(1));
            graph.message(1, node("/embeddings/Equal", "Equal", List.of("input_ids", "onnx::Equal_pad"), List.of("is_pad")));
            graph.message(1, node("/embeddings/CumSum", "CumSum", List.of("is_pad", "axis"), List.of("position_ids")));
        }
        gather("/embeddings/position_embeddings/Gather", "embeddings.position_embeddings.weight", POSITIONS);
        gather("/embeddings/token_type_embeddings/Gather", "embeddings.token_type_embeddings.weight", TYPES);
        return layerNorm("/embeddings/LayerNorm", "embeddings.LayerNorm", "embedded");
    }

    private void gather(String node, String weight, int rows) {
        initializer(weight, OnnxDataType.FLOAT, floats(rows * HIDDEN), rows, HIDDEN);
        graph.message(1, node(node, "Gather", List.of(weight, "input_ids"), List.of("embedded")));
    }

    /** An anonymous [in, out] MatMul weight (named by its node) and a named bias, as torch.onnx writes them. */
    private String linear(String module, String key, String x, int in, int out) {
        String w = "onnx::MatMul_" + values++;
        initializer(w, OnnxDataType.FLOAT, floats(in * out), in, out);
        initializer(key + ".bias", OnnxDataType.FLOAT, floats(out), out);
        graph.message(1, node(module + "/MatMul", "MatMul", List.of(x, w), List.of(module + "/MatMul_output_0")));
        graph.message(1, node(module + "/Add", "Add", List.of(key + ".bias", module + "/MatMul_output_0"), List.of(module + "/Add_output_0")));
        return module + "/Add_output_0";
    }

    private String layerNorm(String module, String key, String x) {
        initializer(key + ".weight", OnnxDataType.FLOAT, floats(HIDDEN), HIDDEN);
        initializer(key + ".bias", OnnxDataType.FLOAT, floats(HIDDEN), HIDDEN);
        TestProto epsilon = new TestProto().string(1, "epsilon").float32(2, 1e-12f).varint(20, 1 /* FLOAT */);
        graph.message(1, node(module + "/LayerNormalization", "LayerNormalization", List.of(x, key + ".weight", key + ".bias"),
                List.of(module + "/output_0"), epsilon));
        return module + "/output_0";
    }

    private void initializer(String name, OnnxDataType type, byte[] raw, long... dims) {
        graph.message(5, TestProto.rawTensor(name, type, raw, dims));
    }

    static TestProto node(String name, String op, List<String> inputs, List<String> outputs, TestProto... attributes) {
        TestProto n = new TestProto();
        for (String in : inputs) n.string(1, in);
        for (String out : outputs) n.string(2, out);
        n.string(3, name).string(4, op);
        for (TestProto a : attributes) n.message(5, a);
        return n;
    }

    static TestProto tensorAttribute(String name, TestProto tensor) {
        return new TestProto().string(1, name).message(5, tensor).varint(20, 4 /* TENSOR */);
    }

    static TestProto valueInfo(String name, OnnxDataType type, String... dims) {
        TestProto shape = new TestProto();
        for (String d : dims) {
            shape.message(1, d.chars().allMatch(Character::isDigit) ? new TestProto().varint(1, Long.parseLong(d)) : new TestProto().string(2, d));
        }
        TestProto tensorType = new TestProto().varint(1, type.code()).message(2, shape);
        return new TestProto().string(1, name).message(2, new TestProto().message(1, tensorType));
    }

    private static byte[] floats(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i % 7 - 3) * 0.125f;
        return TestProto.floatsLE(v);
    }

    static byte[] longsLE(long... values) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 * values.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        return b.array();
    }
}
