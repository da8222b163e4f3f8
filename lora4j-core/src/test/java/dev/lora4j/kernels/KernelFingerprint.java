package dev.lora4j.kernels;

import dev.lora4j.tensor.Nf4;
import dev.lora4j.tensor.Q4K;
import dev.lora4j.tensor.Q5K;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q6K;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.WeightStorage;
import java.util.SplittableRandom;

/**
 * Prints, as hex bit patterns, what the chosen kernels compute on fixed inputs: softmax exponentials and their sum,
 * tanh, dot products, a small GEMM and one-row products on compact weights (ggml's blocks through the quantized-row
 * integer path). {@link KernelDeterminismTest} runs it in a
 * child JVM under {@code -Xint} and compares with the same fingerprint taken in compiled code.
 */
public final class KernelFingerprint {
    private KernelFingerprint() {}

    public static void main(String[] args) {
        System.out.println(of(KernelProvider.get()));
    }

    static String of(Kernels k) {
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[203];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 6);
        StringBuilder out = new StringBuilder();
        float[] e = x.clone();
        append(out, k.expShiftSum(e, 0, e.length, k.max(x, 0, x.length)));
        for (float v : e) append(out, v);
        float[] t = new float[x.length];
        k.tanh(t, 0, x, 0, x.length);
        for (float v : t) append(out, v);
        for (int n = 1; n < 80; n += 13) append(out, k.dot(x, 1, x, 2, n));
        float[] c = new float[7 * 9];
        k.gemmABt(c, 0, 9, x, 0, 20, x, 3, 20, 7, 9, 20, false);
        for (float v : c) append(out, v);
        float[] rows = new float[70 * 37], thin = new float[70 * 9];            // a thin product (LoRA's x·Aᵀ path)
        for (int i = 0; i < rows.length; i++) rows[i] = x[i % x.length] * (1 + i % 7);
        k.gemmABt(thin, 0, 9, rows, 0, 37, rows, 5, 37, 70, 9, 37, false);
        for (float v : thin) append(out, v);
        float[] q = new float[5], r = new float[256 + 7];                       // decoding's one-row product on compact weights
        for (int i = 0; i < r.length; i++) r[i] = x[i % x.length];
        for (WeightStorage w : new WeightStorage[] {Q8_0.quantize(java.util.Arrays.copyOf(x, 160)),
                Nf4.quantize(java.util.Arrays.copyOf(x, 320)), WeightStorage.Bf16.of(java.util.Arrays.copyOf(x, 160)),
                new Q5_0(CompactOneRowTest.blocks(rnd, 160, Q5_0.BLOCK, Q5_0.BLOCK_BYTES, 0), 160),
                new Q4K(CompactOneRowTest.blocks(rnd, 1280, Q4K.BLOCK, Q4K.BLOCK_BYTES, 0, 2), 1280),
                new Q5K(CompactOneRowTest.blocks(rnd, 1280, Q5K.BLOCK, Q5K.BLOCK_BYTES, 0, 2), 1280),
                new Q6K(CompactOneRowTest.blocks(rnd, 1280, Q6K.BLOCK, Q6K.BLOCK_BYTES, 208), 1280)}) {
            k.gemmABt(q, 0, 5, r, 7, w.size() / 5, w, 0, w.size() / 5, 1, 5, w.size() / 5, false);
            for (float v : q) append(out, v);
        }
        return out.toString();
    }

    private static void append(StringBuilder out, float v) {
        out.append(out.isEmpty() ? "" : " ").append(Integer.toHexString(Float.floatToRawIntBits(v)));
    }
}
