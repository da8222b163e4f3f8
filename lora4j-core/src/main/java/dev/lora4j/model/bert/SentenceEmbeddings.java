package dev.lora4j.model.bert;

import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;

/**
 * Sentence embeddings as sentence-transformers' Pooling(mean) + Normalize modules compute them (and langchain4j's
 * all-MiniLM-L6-v2 model): the mean of the last hidden states over the real tokens (attention_mask 1), then
 * divided by its L2 norm (F.normalize: by max(‖v‖, 1e-12)). Sums in double precision.
 */
public final class SentenceEmbeddings {
    private SentenceEmbeddings() {}

    /** One unit-length vector (hidden_size) per sequence of the batch; runs the encoder in evaluation mode. */
    public static float[][] meanPooled(BertModel model, EncoderBatch batch) {
        model.train(false);
        Tensor hidden = model.forward(Tape.noGrad(), batch);                 // (B·T, C)
        int B = batch.B(), T = batch.T(), C = hidden.dim(-1);
        float[] h = hidden.data();
        int[] mask = batch.attentionMask();
        float[][] out = new float[B][C];
        for (int b = 0; b < B; b++) {
            double[] sum = new double[C];
            int count = 0;
            for (int t = 0; t < T; t++) {
                if (mask[b * T + t] == 0) continue;
                count++;
                for (int c = 0, o = (b * T + t) * C; c < C; c++) sum[c] += h[o + c];
            }
            double norm = 0;
            for (int c = 0; c < C; c++) {
                sum[c] /= Math.max(count, 1e-9);
                norm += sum[c] * sum[c];
            }
            double scale = 1.0 / Math.max(Math.sqrt(norm), 1e-12);
            for (int c = 0; c < C; c++) out[b][c] = (float) (sum[c] * scale);
        }
        return out;
    }
}
