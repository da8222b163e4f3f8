package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The head's logits are computed a chunk of rows at a time; a last chunk of one row would be a one-row product, which
 * on a ggml block head quantizes the row (decoding's kernel). It joins the chunk before, so the loss on a Q8_0 head
 * is the loss on the head widened to float32, bit for bit, for any count of rows above one.
 */
class LmHeadLossChunkTest {
    @Test
    void noRowIsLeftAloneInAChunk() {
        SplittableRandom rnd = new SplittableRandom(7);
        int C = 32, V = 400_000, rows = LmHeadLoss.rowsPerChunk(Integer.MAX_VALUE, V);   // 18 rows of logits a chunk
        float[] head = new float[V * C];
        for (int i = 0; i < head.length; i++) head[i] = (float) rnd.nextGaussian();
        Q8_0 q = Q8_0.quantize(head);
        float[] widened = new float[V * C];
        q.widen(0, widened, 0, widened.length);
        Tensor compact = Tensor.zeros(V, C).hold(q), wide = Tensor.of(widened, V, C);
        for (int N : new int[] {2, rows + 1, 2 * rows + 1}) {                        // a row left after one and two chunks
            float[] x = new float[N * C];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            int[] targets = rnd.ints(N, 0, V).toArray();
            float want = LmHeadLoss.apply(Tape.noGrad(), Tensor.of(x, N, C), wide, targets).data()[0];
            float got = LmHeadLoss.apply(Tape.noGrad(), Tensor.of(x.clone(), N, C), compact, targets).data()[0];
            assertEquals(want, got, 0f, "N=" + N);
        }
    }
}
