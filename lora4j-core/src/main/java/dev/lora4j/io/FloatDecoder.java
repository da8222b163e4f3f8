// Decodes little-endian F32, F16, BF16 and F64 elements from a memory segment into a float32 array, and finds
// the first non-finite value while each chunk is still in cache. F32 is bulk-copied chunk by chunk; the 16- and
// 64-bit types go through a small reusable chunk, so reading a multi-gigabyte tensor needs no temporary array of its size.
package dev.lora4j.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

final class FloatDecoder {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 16_384;

    private FloatDecoder() {}

    static boolean decodes(DType dtype) {
        return dtype == DType.F32 || dtype == DType.F16 || dtype == DType.BF16 || dtype == DType.F64;
    }

    /**
     * Fills {@code dst[0..n)} from the {@code n} elements of {@code dtype} at the start of {@code src}; returns the
     * index of the first value that is NaN or infinite as float32 (an F64 beyond float32's range included), or −1.
     * Decoding stops at that value.
     */
    static int decode(MemorySegment src, DType dtype, float[] dst, int n) {
        if (!decodes(dtype)) throw new IllegalArgumentException("no float32 decoding for " + dtype);
        short[] halves = dtype == DType.F16 || dtype == DType.BF16 ? new short[Math.min(n, CHUNK)] : null;
        double[] doubles = dtype == DType.F64 ? new double[Math.min(n, CHUNK)] : null;
        for (int start = 0; start < n; start += CHUNK) {
            int m = Math.min(CHUNK, n - start);
            switch (dtype) {
                case F32 -> MemorySegment.copy(src, F32_LE, 4L * start, dst, start, m);
                case F16, BF16 -> decode16(src, dtype == DType.BF16, halves, dst, start, m);
                default -> decode64(src, doubles, dst, start, m);
            }
            int bad = FiniteCheck.firstNonFinite(dst, start, start + m);
            if (bad >= 0) return bad;
        }
        return -1;
    }

    private static void decode16(MemorySegment src, boolean bf16, short[] chunk, float[] dst, int start, int m) {
        MemorySegment.copy(src, I16_LE, 2L * start, chunk, 0, m);
        if (bf16) {
            for (int i = 0; i < m; i++) dst[start + i] = Float.intBitsToFloat(chunk[i] << 16);
        } else {
            for (int i = 0; i < m; i++) dst[start + i] = Float.float16ToFloat(chunk[i]);
        }
    }

    private static void decode64(MemorySegment src, double[] chunk, float[] dst, int start, int m) {
        MemorySegment.copy(src, F64_LE, 8L * start, chunk, 0, m);
        for (int i = 0; i < m; i++) dst[start + i] = (float) chunk[i];
    }
}
