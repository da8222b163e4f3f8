// Checks float32 -> F16/BF16 rounding and back against bit patterns computed by hand
// (IEEE 754 binary16; bfloat16 = upper half of binary32, round to nearest even as PyTorch does).
package dev.lora4j.io;

import dev.lora4j.tensor.BFloat16;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class HalfPrecisionTest {
    private static int bf16(float f) {
        return BFloat16.fromFloat(f) & 0xFFFF;
    }

    private static int f16(float f) {
        return Float.floatToFloat16(f) & 0xFFFF;
    }

    @Test
    void bf16ExactValues() {
        assertEquals(0x3F80, bf16(1.0f));
        assertEquals(0xC020, bf16(-2.5f));
        assertEquals(0x0000, bf16(0.0f));
        assertEquals(0x8000, bf16(-0.0f));
        assertEquals(0x7F80, bf16(Float.POSITIVE_INFINITY));
        assertEquals(0xFF80, bf16(Float.NEGATIVE_INFINITY));
        assertEquals(0x7FC0, bf16(Float.NaN));
        assertEquals(0x7FC0, bf16(Float.intBitsToFloat(0xFFC00001)));
        assertEquals(1.0f, BFloat16.toFloat((short) 0x3F80));
        assertEquals(-2.5f, BFloat16.toFloat((short) 0xC020));
    }

    @Test
    void bf16RoundsToNearestTiesToEven() {
        // 1 + 2^-8 lies exactly halfway between bf16 1.0 (0x3F80, even) and 0x3F81: ties go to even.
        assertEquals(0x3F80, bf16(Float.intBitsToFloat(0x3F808000)));
        // 0x3F818000 is halfway between 0x3F81 (odd) and 0x3F82 (even): rounds up to even.
        assertEquals(0x3F82, bf16(Float.intBitsToFloat(0x3F818000)));
        // just above / below halfway
        assertEquals(0x3F81, bf16(Float.intBitsToFloat(0x3F808001)));
        assertEquals(0x3F80, bf16(Float.intBitsToFloat(0x3F807FFF)));
        // 0.1f = 0x3DCCCCCD: the dropped half 0xCCCD is above 0x8000, so round up
        assertEquals(0x3DCD, bf16(0.1f));
        // the largest float rounds to infinity, keeping its sign
        assertEquals(0x7F80, bf16(Float.MAX_VALUE));
        assertEquals(0xFF80, bf16(-Float.MAX_VALUE));
        // float32 subnormal 2^-140 = 0x00080000 is exact in bf16
        assertEquals(0x0008, bf16(Float.intBitsToFloat(0x00080000)));
        assertEquals(Float.intBitsToFloat(0x00080000), BFloat16.toFloat((short) 0x0008));
    }

    @Test
    void f16BitPatterns() {
        assertEquals(0x3C00, f16(1.0f));
        assertEquals(0xC100, f16(-2.5f));
        assertEquals(0x7BFF, f16(65504f));
        assertEquals(0x7C00, f16(65520f)); // halfway to the next binade rounds to infinity
        assertEquals(0x0001, f16(0x1p-24f)); // smallest subnormal
        assertEquals(0x0000, f16(0x1p-25f)); // halfway to 0 and 2^-24: ties to even (0)
        assertEquals(0x0002, f16(0x3p-25f)); // halfway between 1 and 2 subnormal ulps: even (2)
        assertEquals(0x03FF, f16(0x3FFp-24f)); // largest subnormal
        assertEquals(0x2E66, f16(0.1f));
        assertEquals(0x1p-24f, Float.float16ToFloat((short) 0x0001));
        assertEquals(65504f, Float.float16ToFloat((short) 0x7BFF));
    }
}
