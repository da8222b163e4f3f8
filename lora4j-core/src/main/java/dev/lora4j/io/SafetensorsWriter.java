// Writes float32 tensors to a safetensors file as F32, F16, BF16 or F64, atomically: the bytes go
// to a temporary file in the same directory, which is synced and then renamed over the target (the
// directory synced after the rename).
// Follows huggingface/safetensors `serialize_to_file` (0.8): same layout, byte for byte.
package dev.lora4j.io;

import dev.lora4j.tensor.BFloat16;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Layout, as the Python library writes it: tensors ordered by dtype alignment, largest first
 * (F64, F32, BF16, F16), then by name, packed without gaps; the header JSON is compact, starts with
 * {@code __metadata__} (sorted keys; omitted when empty), lists tensors in data order, and is padded
 * with spaces to a multiple of 8 bytes so the data block is 8-byte aligned.
 */
public final class SafetensorsWriter {
    private static final int BUFFER_BYTES = 1 << 20;

    private SafetensorsWriter() {}

    /** Writes every tensor as F32. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        write(file, tensors, metadata, Map.of());
    }

    /**
     * Writes each tensor in the dtype {@code dtypes} gives for its name (F32, F16, BF16 or F64;
     * F32 when absent), rounding to nearest even.
     *
     * @throws Lora4jException for a name that is {@code __metadata__}, a dtype that is not a float type,
     *     a dtype for a name that is not among the tensors, or a failed write (the target is then untouched)
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata,
                             Map<String, DType> dtypes) {
        List<Item> items = plan(file, tensors, dtypes);
        byte[] header = header(file, items, metadata);
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            throw new Lora4jException(file + ": cannot write: directory " + dir + " does not exist");
        }
        Path tmp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeAll(out, header, items);
                out.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.fsyncDirectory(dir);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new Lora4jException(file + ": cannot write: " + e, e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private record Item(String name, Tensor tensor, DType dtype, long begin, long end) {}

    private static List<Item> plan(Path file, Map<String, Tensor> tensors, Map<String, DType> dtypes) {
        for (Map.Entry<String, DType> e : dtypes.entrySet()) {
            if (!tensors.containsKey(e.getKey())) {
                throw new Lora4jException(file + ": dtype " + e.getValue() + " given for tensor '" + e.getKey()
                        + "', which is not among the tensors to write");
            }
        }
        List<String> names = new ArrayList<>(tensors.keySet());
        names.sort(Comparator.comparing((String n) -> dtypes.getOrDefault(n, DType.F32)).reversed()
                .thenComparing(Comparator.naturalOrder()));
        List<Item> items = new ArrayList<>(names.size());
        long offset = 0;
        for (String name : names) {
            Tensor t = tensors.get(name);
            DType dtype = dtypes.getOrDefault(name, DType.F32);
            if (name.equals(SafetensorsHeader.METADATA_KEY)) {
                throw new Lora4jException(file + ": '" + name + "' is reserved and cannot name a tensor");
            }
            if (t == null) {
                throw new Lora4jException(file + ": tensor '" + name + "' is null");
            }
            if (!FloatDecoder.decodes(dtype)) {
                throw new Lora4jException(file + ": tensor '" + name + "': cannot write float32 values as "
                        + dtype + " (only F32, F16, BF16 and F64)");
            }
            long end = offset + dtype.byteLength(t.size());
            items.add(new Item(name, t, dtype, offset, end));
            offset = end;
        }
        return items;
    }

    private static byte[] header(Path file, List<Item> items, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
            new TreeMap<>(metadata).forEach(meta::put);
        }
        for (Item item : items) {
            ObjectNode entry = root.putObject(item.name());
            entry.put("dtype", item.dtype().name());
            var shape = entry.putArray("shape");
            for (int d : item.tensor().shape().dims()) shape.add(d);
            entry.putArray("data_offsets").add(item.begin()).add(item.end());
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new Lora4jException(file + ": cannot encode the header: " + e.getOriginalMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] header = new byte[padded];
        System.arraycopy(json, 0, header, 0, json.length);
        for (int i = json.length; i < padded; i++) header[i] = ' ';
        return header;
    }

    private static void writeAll(FileChannel out, byte[] header, List<Item> items) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length);
        int at = 0;
        while (at < header.length) {
            if (!buf.hasRemaining()) drain(out, buf);
            int m = Math.min(buf.remaining(), header.length - at);
            buf.put(header, at, m);
            at += m;
        }
        for (Item item : items) {
            float[] v = item.tensor().data();
            int elementBytes = item.dtype().bits() / 8;
            int i = 0;
            while (i < v.length) {
                if (buf.remaining() < elementBytes) drain(out, buf);
                int m = Math.min(buf.remaining() / elementBytes, v.length - i);
                encode(buf, item.dtype(), v, i, m);
                i += m;
            }
        }
        drain(out, buf);
    }

    private static void encode(ByteBuffer buf, DType dtype, float[] v, int from, int m) {
        switch (dtype) {
            case F32 -> {
                buf.asFloatBuffer().put(v, from, m);
                buf.position(buf.position() + 4 * m);
            }
            case F16 -> {
                for (int i = from; i < from + m; i++) buf.putShort(Float.floatToFloat16(v[i]));
            }
            case BF16 -> {
                for (int i = from; i < from + m; i++) buf.putShort(BFloat16.fromFloat(v[i]));
            }
            case F64 -> {
                for (int i = from; i < from + m; i++) buf.putDouble(v[i]);
            }
            default -> throw new IllegalArgumentException("no float32 encoding for " + dtype);
        }
    }

    private static void drain(FileChannel out, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) out.write(buf);
        buf.clear();
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the write already failed; that error is the one to report
        }
    }
}
