// Writes a GGUF v3 file as gguf-py's GGUFWriter does: header, key/values, tensor infos, then each tensor's data at an
// offset aligned to 32 bytes (the default general.alignment, so the key is not written), zero padding in between.
package dev.lora4j.io.gguf;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.BFloat16;
import dev.lora4j.tensor.Q8_0;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/** A GGUF file from metadata and tensors; the tensors' bytes are asked for one at a time, as they are written. */
public final class GgufWriter {
    private GgufWriter() {}

    /** A tensor to write: {@code ne} in ggml order (a PyTorch (out, in) weight has ne [in, out]); its bytes on demand. */
    public record Entry(String name, long[] ne, GgmlType type, Supplier<byte[]> bytes) {
        long size() {
            long n = 1;
            for (long d : ne) n *= d;
            return type.bytes(n);
        }
    }

    /** Writes {@code file} (the caller makes it atomic: a staging path of an {@code io.Output}). */
    public static void write(Path file, Map<String, GgufValue> metadata, List<Entry> tensors) {
        Set<String> names = new HashSet<>();
        for (Entry e : tensors) {
            if (!names.add(e.name())) throw new IllegalArgumentException("tensor '" + e.name() + "' given twice");
            if (e.ne()[0] % e.type().blockSize() != 0) throw new IllegalArgumentException("tensor '" + e.name() + "': rows of " + e.ne()[0] + " are not whole " + e.type() + " blocks");
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            Sink s = new Sink(out);
            s.u32(GgufFile.MAGIC);
            s.u32(3);
            s.u64(tensors.size());
            s.u64(metadata.size());
            for (Map.Entry<String, GgufValue> kv : metadata.entrySet()) {
                s.string(kv.getKey());
                s.value(kv.getValue());
            }
            long offset = 0;
            for (Entry e : tensors) {
                s.string(e.name());
                s.u32(e.ne().length);
                for (long d : e.ne()) s.u64(d);
                s.u32(e.type().id());
                s.u64(offset);
                offset = GgufFile.align(offset + e.size(), GgufFile.DEFAULT_ALIGNMENT);
            }
            s.pad();
            for (Entry e : tensors) {
                byte[] b = e.bytes().get();
                if (b.length != e.size()) throw new IllegalStateException("tensor '" + e.name() + "': " + b.length + " bytes, expected " + e.size());
                s.bytes(b);
                s.pad();
            }
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** {@code values} encoded as {@code type}: F32, F16, BF16 (round to nearest even) or Q8_0 (llama.cpp's reference quantizer). */
    public static byte[] encode(float[] values, GgmlType type) {
        return switch (type) {
            case F32 -> {
                ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(values);
                yield b.array();
            }
            case F16, BF16 -> {
                ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : values) b.putShort(type == GgmlType.F16 ? Float.floatToFloat16(v) : BFloat16.fromFloat(v));
                yield b.array();
            }
            case Q8_0 -> Q8_0.quantize(values).blocks();
            default -> throw new IllegalArgumentException("lora4j does not write " + type);
        };
    }

    /** Little-endian primitives, counting bytes so padding lands on the alignment. */
    private static final class Sink {
        private final OutputStream out;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Sink(OutputStream out) {
            this.out = out;
        }

        void bytes(byte[] b) throws IOException {
            out.write(b);
            written += b.length;
        }

        private void put(int n) throws IOException {
            out.write(scratch.array(), 0, n);
            written += n;
            scratch.clear();
        }

        void u8(int v) throws IOException {
            scratch.put((byte) v);
            put(1);
        }

        void u16(int v) throws IOException {
            scratch.putShort((short) v);
            put(2);
        }

        void u32(long v) throws IOException {
            scratch.putInt((int) v);
            put(4);
        }

        void u64(long v) throws IOException {
            scratch.putLong(v);
            put(8);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void pad() throws IOException {
            long target = GgufFile.align(written, GgufFile.DEFAULT_ALIGNMENT);
            if (target > written) bytes(new byte[(int) (target - written)]);
        }

        void value(GgufValue v) throws IOException {
            u32(v.type().ordinal());
            if (v.type() != GgufValueType.ARRAY) {
                scalar(v.type(), v.value());
                return;
            }
            List<?> items = (List<?>) v.value();
            u32(v.elementType().ordinal());
            u64(items.size());
            for (Object o : items) scalar(v.elementType(), o);
        }

        private void scalar(GgufValueType type, Object o) throws IOException {
            switch (type) {
                case UINT8, INT8 -> u8(((Number) o).intValue());
                case UINT16, INT16 -> u16(((Number) o).intValue());
                case UINT32, INT32 -> u32(((Number) o).longValue());
                case UINT64, INT64 -> u64(((Number) o).longValue());
                case FLOAT32 -> u32(Float.floatToRawIntBits(((Number) o).floatValue()));
                case FLOAT64 -> u64(Double.doubleToRawLongBits(((Number) o).doubleValue()));
                case BOOL -> u8((Boolean) o ? 1 : 0);
                case STRING -> string((String) o);
                case ARRAY -> throw new IllegalArgumentException("nested arrays are not written");
            }
        }
    }
}
