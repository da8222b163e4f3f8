import dev.lora4j.kernels.Gemm;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.WeightStorage;

import java.util.Random;

/**
 * Decoding's product on a ggml block weight alone (issue 17): c = x·Wᵀ, one row, W an n × k Q8_0 or Q5_0 matrix of
 * random blocks, through {@code Gemm.rowsAbt} as decoding calls it; one JSON line, the median of 7 rounds:
 * <pre>
 *   java &lt;./lora4j's JVM flags&gt; -Dlora4j.threads=1 -cp lora4j-cli/target/lora4j.jar tools/bench/BlockGemv.java q5_0 4864 896
 * </pre>
 */
public class BlockGemv {
    public static void main(String[] args) {
        String format = args[0];
        int n = Integer.parseInt(args[1]), k = Integer.parseInt(args[2]);
        int blockBytes = switch (format) {
            case "q8_0" -> Q8_0.BLOCK_BYTES;
            case "q5_0" -> Q5_0.BLOCK_BYTES;
            default -> throw new IllegalArgumentException("format: q8_0 or q5_0, not " + format);
        };
        int blocks = n * (k / 32);
        byte[] q = new byte[blocks * blockBytes];
        Random rnd = new Random(1);
        rnd.nextBytes(q);
        for (int b = 0; b < blocks; b++) {                      // every block's scale d = 2^-7 (float16 0x2000)
            q[b * blockBytes] = 0;
            q[b * blockBytes + 1] = 0x20;
        }
        WeightStorage w = format.equals("q8_0") ? new Q8_0(q, n * k) : new Q5_0(q, n * k);
        float[] x = new float[k], c = new float[n];
        for (int i = 0; i < k; i++) x[i] = (float) rnd.nextGaussian();
        int calls = Math.max(1, (int) (2e8 / ((double) n * k)));
        double[] ns = new double[7];
        for (int round = -3; round < ns.length; round++) {       // 3 rounds of warm-up
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) Gemm.rowsAbt(c, 0, n, x, 0, k, w, 0, k, 1, n, k, false);
            if (round >= 0) ns[round] = (double) (System.nanoTime() - t0) / calls;
        }
        java.util.Arrays.sort(ns);
        double median = ns[ns.length / 2];
        System.out.printf("{\"format\":\"%s\",\"n\":%d,\"k\":%d,\"threads\":%d,\"ns_per_block\":%.3f,\"gb_per_s\":%.2f}%n",
                format, n, k, Gemm.threads(), median / blocks, (double) blocks * blockBytes / median);
    }
}
