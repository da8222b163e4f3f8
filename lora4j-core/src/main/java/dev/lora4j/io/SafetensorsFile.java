// A memory-mapped safetensors file whose header is validated when it is opened; tensors are read
// on demand and converted to float32. Follows the safetensors format (huggingface/safetensors 0.8):
// u64 little-endian header length N, N bytes of JSON, then the data block.
package dev.lora4j.io;

import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * An open safetensors file. The mapping is shared: reads may run on several threads at once, but
 * not concurrently with {@link #close()}, after which every read fails.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest element count of one float[] (the JDK's practical array limit). */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final SafetensorsHeader header;

    private SafetensorsFile(Path path, Arena arena, MemorySegment file, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = file.asSlice(header.dataStart(), header.dataSize());
        this.header = header;
    }

    /**
     * Maps {@code path} (any size) and validates its whole header.
     *
     * @throws Lora4jException if the file is missing, unreadable or not a valid safetensors file
     */
    public static SafetensorsFile open(Path path) {
        InputFile.requireRegular(path, "a .safetensors file");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new SafetensorsFile(path, arena, file, SafetensorsHeader.parse(file, path.toString()));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new Lora4jException(path + ": not found", e);
        } catch (IOException e) {
            arena.close();
            throw new Lora4jException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in sorted order (as Python's {@code safe_open(...).keys()}), without {@code __metadata__}. */
    public List<String> names() {
        return List.copyOf(header.tensors().keySet());
    }

    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    /** The header entry of {@code name}; a {@link Lora4jException} if there is none. */
    public TensorInfo entry(String name) {
        TensorInfo info = header.tensors().get(name);
        if (info == null) {
            throw new Lora4jException(path + ": no tensor '" + name + "' (the file has " + header.tensors().size()
                    + " tensors)");
        }
        return info;
    }

    /** The shape of {@code name} as a lora4j {@link Shape}; fails if a dimension exceeds an int. */
    public Shape shape(String name) {
        TensorInfo info = entry(name);
        long[] dims = info.shape();
        int[] ints = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > Integer.MAX_VALUE) {
                throw new Lora4jException(path + ": tensor '" + name + "': shape " + Arrays.toString(dims)
                        + " has a dimension over " + Integer.MAX_VALUE + ", more than lora4j tensors hold");
            }
            ints[i] = (int) dims[i];
        }
        return new Shape(ints);
    }

    /** The {@code __metadata__} map of the header (empty if absent), sorted by key. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Reads {@code name} into a new float32 tensor, converting from F16, BF16 or F64 if needed. */
    public Tensor read(String name) {
        TensorInfo info = readable(name);
        Shape shape = shape(name);
        float[] values = new float[checkedSize(info)];
        readInto(name, values);
        return new Tensor(shape, values);
    }

    /** Reads {@code name} into {@code dst}, whose length must be the tensor's element count; a NaN or infinite value is an error. */
    public void readInto(String name, float[] dst) {
        TensorInfo info = readable(name);
        int n = checkedSize(info);
        if (dst.length != n) {
            throw new Lora4jException(path + ": tensor '" + name + "' has " + n + " elements (shape "
                    + Arrays.toString(info.shape()) + "), but the destination holds " + dst.length);
        }
        decode(info, 0, dst, n);
    }

    /**
     * Reads values [from, from + n) of {@code name} (flat, row-major) into dst[0, n): a tensor read a run at a time,
     * so its float32 values need not exist in memory at once; a NaN or infinite value is an error.
     */
    public void readRange(String name, long from, float[] dst, int n) {
        TensorInfo info = readable(name);
        if (from < 0 || n < 0 || from + n > info.numel() || n > dst.length) {
            throw new IllegalArgumentException(path + ": values [" + from + ", " + (from + n) + ") of tensor '" + name + "' ("
                    + info.numel() + " values) into " + dst.length);
        }
        decode(info, from, dst, n);
    }

    private void decode(TensorInfo info, long from, float[] dst, int n) {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException(path + ": already closed");
        }
        long width = info.dtype().bits() / 8;
        int bad = FloatDecoder.decode(data.asSlice(info.begin() + from * width, n * width), info.dtype(), dst, n);
        if (bad >= 0) {
            throw new Lora4jException(path + ": tensor '" + info.name() + "' holds " + dst[bad] + " at flat index " + (from + bad) + " (element "
                    + FiniteCheck.position(info.shape(), from + bad) + " of shape " + Arrays.toString(info.shape()) + ")"
                    + (info.dtype() == DType.F64 ? ", or an F64 value beyond float32's range" : "") + ": tensors must be finite");
        }
    }

    /** The raw bytes of {@code name} as stored (little-endian), whatever its dtype: what a quantized tensor holds. */
    public byte[] bytes(String name) {
        TensorInfo info = entry(name);
        if (info.byteLength() > MAX_ARRAY) {
            throw new Lora4jException(path + ": tensor '" + name + "' has " + info.byteLength() + " bytes, more than one Java array holds");
        }
        if (!arena.scope().isAlive()) throw new IllegalStateException(path + ": already closed");
        return data.asSlice(info.begin(), info.byteLength()).toArray(ValueLayout.JAVA_BYTE);
    }

    private TensorInfo readable(String name) {
        TensorInfo info = entry(name);
        if (!FloatDecoder.decodes(info.dtype())) {
            throw new Lora4jException(path + ": tensor '" + name + "' has dtype " + info.dtype()
                    + ", but only F32, F16, BF16 and F64 can be read as float32");
        }
        return info;
    }

    private int checkedSize(TensorInfo info) {
        long n = info.numel();
        if (n > MAX_ARRAY) {
            throw new Lora4jException(path + ": tensor '" + info.name() + "' has " + n
                    + " elements, more than one Java array holds (" + MAX_ARRAY + ")");
        }
        return (int) n;
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + header.tensors().size() + " tensors]";
    }
}
