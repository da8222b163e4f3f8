// Writes a copy of an ONNX file with the values of some initializers replaced, in place: each new
// value is encoded in the initializer's data type into the bytes its raw_data (or packed float_data /
// double_data) held, so lengths, the graph, names and order stay byte-identical. Written beside the
// target, synced, then renamed over it.
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.BFloat16;
import dev.lora4j.onnx.OnnxTensor.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Rewrites an ONNX file with new initializer values in the bytes the old ones held (same length, graph and names). */
public final class OnnxWriter {
    private OnnxWriter() {}

    private record Patch(int offset, byte[] bytes) {}

    /**
     * Writes {@code model}'s file to {@code out} with each initializer named in {@code values} holding
     * those values (row-major in the initializer's own dims, rounded to its FLOAT16/BFLOAT16 type).
     * With no values the output is the input, byte for byte.
     *
     * @throws Lora4jException for an unknown initializer, a value count that differs from its dims, a
     *     type that is not floating-point, values in varint-packed fields, or a failed write (the target
     *     is then untouched)
     */
    public static void write(OnnxModel model, Map<String, float[]> values, Path out) {
        List<Patch> patches = new ArrayList<>();
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            OnnxTensor t = model.graph().initializer(e.getKey()).orElseThrow(() -> new Lora4jException(model.source()
                    + ": no initializer '" + e.getKey() + "' to replace"));
            byte[] bytes = encode(model, t, e.getValue());
            if (bytes.length > 0) patches.add(new Patch(t.payload().offset(), bytes));
        }
        patches.sort(Comparator.comparingInt(Patch::offset));
        Path dir = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) throw new Lora4jException(out + ": cannot write: directory " + dir + " does not exist");
        Path tmp = dir.resolve("." + out.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        byte[] file = model.file();
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                int at = 0;
                for (Patch p : patches) {
                    writeFully(ch, ByteBuffer.wrap(file, at, p.offset() - at));
                    writeFully(ch, ByteBuffer.wrap(p.bytes()));
                    at = p.offset() + p.bytes().length;
                }
                writeFully(ch, ByteBuffer.wrap(file, at, file.length - at));
                ch.force(true);
            }
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new Lora4jException(out + ": cannot write: " + e, e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** The new payload bytes: same length as the old, little-endian, in the tensor's data type. */
    private static byte[] encode(OnnxModel model, OnnxTensor t, float[] v) {
        String what = model.source() + ": initializer '" + t.name() + "' ";
        if (!t.dataType().isFloat()) throw new Lora4jException(what + "is " + t.dataType() + ", not a floating-point tensor");
        if (v.length != t.numel()) {
            throw new Lora4jException(what + "holds " + t.numel() + " values (dims " + Arrays.toString(t.dims())
                    + "), got " + v.length);
        }
        Storage s = t.storage();
        if (v.length > 0 && s != Storage.RAW && s != Storage.FLOAT_DATA && s != Storage.DOUBLE_DATA) {
            throw new Lora4jException(what + "keeps its values as varints (int32_data), which cannot be replaced in place");
        }
        ByteBuffer buf = ByteBuffer.allocate(v.length == 0 ? 0 : t.payload().length()).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dataType()) {
            case FLOAT -> buf.asFloatBuffer().put(v);
            case DOUBLE -> {
                for (float x : v) buf.putDouble(x);
            }
            case FLOAT16 -> {
                for (float x : v) buf.putShort(Float.floatToFloat16(x));
            }
            default -> {
                for (float x : v) buf.putShort(BFloat16.fromFloat(x));
            }
        }
        return buf.array();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the write already failed; that error is the one to report
        }
    }
}
