// bfloat16 <-> float32 conversion: the upper 16 bits of an IEEE float32.
// Follows PyTorch c10/util/BFloat16.h: round to nearest even, every NaN becomes the quiet NaN 0x7FC0.
// (float16 needs no helper: Float.float16ToFloat and Float.floatToFloat16 are exact IEEE conversions.)
package dev.lora4j.tensor;

/** bfloat16 ↔ float32 as PyTorch converts: round to nearest even; every NaN becomes 0x7FC0. */
public final class BFloat16 {
    private BFloat16() {}

    /** The float32 value of the bfloat16 bit pattern {@code bits} (exact). */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** The bfloat16 bit pattern nearest to {@code value}, ties to even; overflow rounds to infinity. */
    public static short fromFloat(float value) {
        if (Float.isNaN(value)) return (short) 0x7FC0;
        int bits = Float.floatToRawIntBits(value);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
