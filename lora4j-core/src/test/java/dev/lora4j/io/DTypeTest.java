// Tests of DType: names as the safetensors header spells them, and byte lengths including the
// packed sub-byte float types.
package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class DTypeTest {
    @Test
    void namesAreTheHeaderSpellings() {
        assertEquals(Optional.of(DType.BF16), DType.fromName("BF16"));
        assertEquals(Optional.of(DType.F8_E4M3), DType.fromName("F8_E4M3"));
        assertTrue(DType.fromName("bf16").isEmpty());
        assertTrue(DType.fromName("Q4_0").isEmpty());
        for (DType t : DType.values()) assertEquals(Optional.of(t), DType.fromName(t.name()));
    }

    @Test
    void byteLengths() {
        assertEquals(8, DType.F64.byteLength(1));
        assertEquals(4 * 6, DType.F32.byteLength(6));
        assertEquals(2 * 3, DType.F16.byteLength(3));
        assertEquals(2 * 3, DType.BF16.byteLength(3));
        assertEquals(8, DType.I64.byteLength(1));
        assertEquals(16, DType.C64.byteLength(2));
        assertEquals(1, DType.BOOL.byteLength(1));
        assertEquals(0, DType.F32.byteLength(0));
        assertEquals(2, DType.F4.byteLength(4));
        assertEquals(3, DType.F6_E2M3.byteLength(4));
        assertThrows(IllegalArgumentException.class, () -> DType.F4.byteLength(3));
        assertThrows(ArithmeticException.class, () -> DType.F64.byteLength(Long.MAX_VALUE / 4));
    }

    @Test
    void declarationOrderIsTheReferenceAlignmentOrder() {
        assertTrue(DType.F64.compareTo(DType.F32) > 0);
        assertTrue(DType.F32.compareTo(DType.BF16) > 0);
        assertTrue(DType.BF16.compareTo(DType.F16) > 0);
    }
}
