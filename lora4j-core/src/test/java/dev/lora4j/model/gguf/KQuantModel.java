package dev.lora4j.model.gguf;

import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.io.gguf.GgufWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A one-layer llama GGUF with hidden size 256 (rows of whole k-quant blocks) and the vocabulary of another GGUF, whose
 * quantized tensors are random blocks (random quants and scale bytes, fp16 super-block scales set to 0.001 so values stay
 * near ±2). {@code type} names the token embedding's type (the rest F32), or "all": every matrix quantized, Q4_K, Q5_K,
 * Q6_K in turn.
 */
final class KQuantModel {
    private static final int H = 256, HEADS = 4, FF = 256;

    private KQuantModel() {}

    static void write(Path out, Path vocabFrom, String type) {
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        int vocab;
        try (GgufFile v = GgufFile.open(vocabFrom)) {
            kv.put("general.architecture", GgufValue.string("llama"));
            kv.put("llama.context_length", GgufValue.uint32(128));
            kv.put("llama.embedding_length", GgufValue.uint32(H));
            kv.put("llama.block_count", GgufValue.uint32(1));
            kv.put("llama.feed_forward_length", GgufValue.uint32(FF));
            kv.put("llama.attention.head_count", GgufValue.uint32(HEADS));
            kv.put("llama.attention.head_count_kv", GgufValue.uint32(HEADS));
            kv.put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f));
            kv.put("llama.rope.freq_base", GgufValue.float32(10000f));
            v.metadata().forEach((k, val) -> {
                if (k.startsWith("tokenizer.")) kv.put(k, val);
            });
            vocab = v.array("tokenizer.ggml.tokens", dev.lora4j.io.gguf.GgufValueType.STRING).size();
        }
        SplittableRandom rnd = new SplittableRandom(type.hashCode());
        GgmlType[] cycle = {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};
        boolean all = type.equals("all");
        List<GgufWriter.Entry> t = new ArrayList<>();
        int[] k = {0};
        java.util.function.BiConsumer<String, long[]> matrix = (name, ne) -> {
            GgmlType q = all ? cycle[k[0]++ % 3] : name.equals("token_embd.weight") ? GgmlType.valueOf(type) : GgmlType.F32;
            t.add(new GgufWriter.Entry(name, ne, q, () -> q == GgmlType.F32 ? f32(rnd, ne[0] * ne[1], 1.5 / Math.sqrt(ne[0])) : blocks(rnd, q, ne[0] * ne[1])));
        };
        matrix.accept("token_embd.weight", new long[] {H, vocab});
        t.add(new GgufWriter.Entry("blk.0.attn_norm.weight", new long[] {H}, GgmlType.F32, () -> ones(H)));
        for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) matrix.accept("blk.0." + m + ".weight", new long[] {H, H});
        t.add(new GgufWriter.Entry("blk.0.ffn_norm.weight", new long[] {H}, GgmlType.F32, () -> ones(H)));
        matrix.accept("blk.0.ffn_gate.weight", new long[] {H, FF});
        matrix.accept("blk.0.ffn_up.weight", new long[] {H, FF});
        matrix.accept("blk.0.ffn_down.weight", new long[] {FF, H});
        t.add(new GgufWriter.Entry("output_norm.weight", new long[] {H}, GgmlType.F32, () -> ones(H)));
        matrix.accept("output.weight", new long[] {H, vocab});
        GgufWriter.write(out, kv, t);
    }

    private static byte[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return GgufWriter.encode(v, GgmlType.F32);
    }

    private static byte[] f32(SplittableRandom rnd, long n, double std) {
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * std);
        return GgufWriter.encode(v, GgmlType.F32);
    }

    /** Random blocks of {@code q} with every fp16 scale 0.001 (Q4_K/Q5_K: d and dmin; Q6_K: d; Q8_0/Q4_0: d = 0.02). */
    private static byte[] blocks(SplittableRandom rnd, GgmlType q, long n) {
        byte[] b = new byte[(int) q.bytes(n)];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rnd.nextInt(256);
        short small = Float.floatToFloat16(0.001f), d = Float.floatToFloat16(0.02f);
        for (int blk = 0; blk < b.length / q.blockBytes(); blk++) {
            int o = blk * q.blockBytes();
            switch (q) {
                case Q4_K, Q5_K -> {
                    put(b, o, small);
                    put(b, o + 2, small);
                }
                case Q6_K -> put(b, o + 208, small);
                default -> put(b, o, d);
            }
        }
        return b;
    }

    private static void put(byte[] b, int i, short h) {
        b[i] = (byte) h;
        b[i + 1] = (byte) (h >> 8);
    }
}
