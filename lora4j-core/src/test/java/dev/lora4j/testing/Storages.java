package dev.lora4j.testing;

import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.WeightStorage;
import java.nio.ByteBuffer;

/** Weight storages compared bit for bit. */
public final class Storages {
    private Storages() {}

    /** The values' bytes as {@code s} holds them (float32 bits, bfloat16 or float16 bits, or the quantized blocks). */
    public static byte[] bytes(WeightStorage s) {
        return switch (s) {
            case WeightStorage.F32(float[] v) -> {
                ByteBuffer b = ByteBuffer.allocate(4 * v.length);
                for (float x : v) b.putInt(Float.floatToRawIntBits(x));
                yield b.array();
            }
            case WeightStorage.Bf16(short[] v) -> shorts(v);
            case WeightStorage.F16(short[] v) -> shorts(v);
            case BlockStorage q -> q.blocks();
        };
    }

    private static byte[] shorts(short[] v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length);
        for (short x : v) b.putShort(x);
        return b.array();
    }
}
