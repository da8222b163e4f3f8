// ONNX Runtime (test scope only) running a BERT-family ONNX file: the independent reference that
// lora4j's own encoder forward and its written ONNX files are checked against. Follows the inputs
// and output of HF BertModel exports: input_ids, attention_mask, token_type_ids (int64 [B, T]) ->
// last_hidden_state (float [B, T, C]).
package dev.lora4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.List;
import java.util.Map;

/** One ORT session; graph optimizations are off, so ORT runs the file's own operators. */
public final class OnnxRuntimeReference implements AutoCloseable {
    private static OnnxRuntimeReference miniLm;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    private OnnxRuntimeReference(byte[] onnxFile) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            options.setIntraOpNumThreads(2);
            session = env.createSession(onnxFile, options);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    /** A session for the bytes of an ONNX file; close it. */
    public static OnnxRuntimeReference open(byte[] onnxFile) {
        return new OnnxRuntimeReference(onnxFile);
    }

    /** A shared session for the real all-MiniLM-L6-v2 ({@link MiniLm#model()}), open until the JVM exits: do not close it. */
    public static synchronized OnnxRuntimeReference miniLm() {
        if (miniLm == null) miniLm = new OnnxRuntimeReference(MiniLm.model().file());
        return miniLm;
    }

    /** last_hidden_state (B, T, C) for the given ids, mask and token types, each (B, T). */
    public float[][][] lastHiddenState(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds) {
        try (var ids = ai.onnxruntime.OnnxTensor.createTensor(env, inputIds);
             var mask = ai.onnxruntime.OnnxTensor.createTensor(env, attentionMask);
             var types = ai.onnxruntime.OnnxTensor.createTensor(env, tokenTypeIds);
             OrtSession.Result result = session.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /**
     * last_hidden_state (B, T, C) for sequences of any lengths: right-padded with id 0 to the longest,
     * attention mask 1 on real tokens, token types 0.
     */
    public float[][][] lastHiddenState(List<int[]> sequences) {
        int batch = sequences.size(), t = sequences.stream().mapToInt(s -> s.length).max().orElse(0);
        long[][] ids = new long[batch][t], mask = new long[batch][t];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < sequences.get(b).length; i++) {
                ids[b][i] = sequences.get(b)[i];
                mask[b][i] = 1;
            }
        }
        return lastHiddenState(ids, mask, new long[batch][t]);
    }

    /** The sentence embedding sentence-transformers computes: mean over the first {@code length} tokens, L2-normalised. */
    public static float[] meanPooledNormalized(float[][] hidden, int length) {
        int c = hidden[0].length;
        double[] sum = new double[c];
        for (int i = 0; i < length; i++) {
            for (int j = 0; j < c; j++) sum[j] += hidden[i][j];
        }
        double norm = 0;
        for (int j = 0; j < c; j++) {
            sum[j] /= length;
            norm += sum[j] * sum[j];
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        float[] out = new float[c];
        for (int j = 0; j < c; j++) out[j] = (float) (sum[j] / norm);
        return out;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
