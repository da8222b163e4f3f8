package dev.lora4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.testing.TestData;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every tensor type lora4j reads, against llama.cpp's own Python package: testdata/gguf/quants.gguf is written by
 * gguf-py's GGUFWriter (tools/golden/gguf_quants_golden.py) with random blocks of each type and gguf-py's numpy
 * dequantization of them, and gguf-py's Q8_0 / Q4_0 quantization of float rows. lora4j's reader opens that file and its
 * storages must give the same float32 values bit for bit, from any offset, and quantize to the same bytes.
 */
class GgufQuantsTest {
    private static final Path FILE = TestData.dir("gguf").resolve("quants.gguf");

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16"})
    void widensExactlyAsLlamaCppDequantizes(String type) {
        try (GgufFile f = GgufFile.open(FILE)) {
            GgufTensor t = f.tensor(type);
            assertEquals(GgmlType.valueOf(type), t.type());
            assertEquals(f.shape(type + ".expected"), f.shape(type));
            WeightStorage s = f.read(type);
            float[] expected = ((WeightStorage.F32) f.read(type + ".expected")).values();
            float[] all = new float[s.size()];
            s.widen(0, all, 0, s.size());
            assertArrayEquals(expected, all, type);
            if (s instanceof BlockStorage b) assertEquals(t.bytes(), b.bytes());
            SplittableRandom rnd = new SplittableRandom(type.hashCode());
            for (int trial = 0; trial < 500; trial++) {             // runs starting and ending anywhere, as a GEMM panel asks
                int off = rnd.nextInt(s.size()), n = rnd.nextInt(s.size() - off + 1);
                float[] run = new float[n + 3];
                s.widen(off, run, 2, n);
                for (int i = 0; i < n; i++) assertEquals(Float.floatToRawIntBits(expected[off + i]), Float.floatToRawIntBits(run[2 + i]), type + " at " + (off + i));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
    void permutingRowsMovesWholeRows(String type) {
        try (GgufFile f = GgufFile.open(FILE)) {
            BlockStorage s = assertInstanceOf(BlockStorage.class, f.read(type));
            Shape shape = f.shape(type);
            int rows = shape.dim(0), cols = shape.dim(1);
            int[] source = new int[rows];
            for (int r = 0; r < rows; r++) source[r] = (r * 2 + 1) % rows;
            BlockStorage p = s.permuteRows(cols, source);
            float[] a = new float[s.size()], b = new float[s.size()];
            s.widen(0, a, 0, a.length);
            p.widen(0, b, 0, b.length);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) assertEquals(a[source[r] * cols + c], b[r * cols + c]);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void quantizesToTheBytesLlamaCppWrites(String type) {
        try (GgufFile f = GgufFile.open(FILE)) {
            float[] source = ((WeightStorage.F32) f.read(type + ".source")).values();
            BlockStorage expected = (BlockStorage) f.read(type + ".quantized");
            BlockStorage mine = type.equals("Q8_0") ? Q8_0.quantize(source) : Q4_0.quantize(source);
            assertArrayEquals(expected.blocks(), mine.blocks(), type);
            if (type.equals("Q8_0")) assertArrayEquals(expected.blocks(), GgufWriter.encode(source, GgmlType.Q8_0), "to-gguf --outtype q8_0");
        }
    }
}
