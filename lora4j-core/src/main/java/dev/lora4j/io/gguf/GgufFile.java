// A memory-mapped GGUF file (llama.cpp, Ollama) whose whole header is validated when it is opened. Follows the GGUF
// specification (ggml docs/gguf.md) and llama.cpp's gguf.cpp reader: magic "GGUF", version 2 or 3, tensor and
// key/value counts, typed key/values, tensor infos, data aligned to general.alignment (default 32).
package dev.lora4j.io.gguf;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import dev.lora4j.tensor.BlockStorage;
import dev.lora4j.tensor.Q4K;
import dev.lora4j.tensor.Q4_0;
import dev.lora4j.tensor.Q5_0;
import dev.lora4j.tensor.Q5K;
import dev.lora4j.tensor.Q6K;
import dev.lora4j.tensor.Q8_0;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.WeightStorage;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open GGUF file: its metadata, its tensor infos, and each tensor read as a {@link WeightStorage} (quantized blocks
 * stay quantized). Checked on open, before anything is allocated from a count in the file: the magic and version, that
 * every count fits in the bytes left, every string is UTF-8 within the file, no key or tensor name repeats, every value
 * type is GGUF's (no nested arrays), the alignment is a power of two, every tensor has 1–4 positive dims, a known type
 * whose block divides its rows, an aligned offset, and lies inside the file without overlapping another. Every error
 * names the file and the key or tensor. Reads may run on several threads, not concurrently with {@link #close()}.
 */
public final class GgufFile implements AutoCloseable {
    static final int MAGIC = 0x46554747;                  // "GGUF" read as a little-endian uint32
    static final int DEFAULT_ALIGNMENT = 32;
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensor> tensors;

    private GgufFile(Path path, Arena arena, MemorySegment data, int version, Map<String, GgufValue> metadata, Map<String, GgufTensor> tensors) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** Whether {@code path} names a GGUF file (a regular file whose first four bytes are "GGUF"); false for a directory. */
    public static boolean isGguf(Path path) {
        if (!java.nio.file.Files.isRegularFile(path)) return false;
        try (FileChannel c = FileChannel.open(path, StandardOpenOption.READ)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && c.read(b) > 0) { }
            return !b.hasRemaining() && b.getInt(0) == MAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    /** Maps {@code path} and validates its whole header; a {@link Lora4jException} naming what is wrong. */
    public static GgufFile open(Path path) {
        InputFile.requireRegular(path, "a .gguf file");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return parse(path, arena, file);
        } catch (IOException e) {
            arena.close();
            throw new Lora4jException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static GgufFile parse(Path path, Arena arena, MemorySegment file) {
        GgufReader r = new GgufReader(file, path.toString());
        if (file.byteSize() < 4 || r.u32("the magic") != MAGIC) {
            throw new Lora4jException(path + ": not a GGUF file (it does not start with the bytes \"GGUF\")");
        }
        int version = (int) r.u32("the version");
        if (version != 2 && version != 3) {
            throw new Lora4jException(path + ": GGUF version " + Integer.toUnsignedString(version) + " is not supported (lora4j reads versions 2 and 3)");
        }
        long tensorCount = r.count("the tensor count", 24);          // a tensor info takes at least 24 bytes
        long kvCount = r.count("the metadata count", 13);            // a key/value at least 13
        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string("metadata key #" + i);
            GgufValue v = r.value("metadata key '" + key + "'");
            if (metadata.putIfAbsent(key, v) != null) throw new Lora4jException(path + ": metadata key '" + key + "' appears twice");
        }
        long alignment = DEFAULT_ALIGNMENT;
        GgufValue a = metadata.get("general.alignment");
        if (a != null) {
            if (a.type() != GgufValueType.UINT32) throw new Lora4jException(path + ": general.alignment is " + a.describe() + ", expected a UINT32");
            alignment = (Long) a.value();
            if (alignment == 0 || Long.bitCount(alignment) != 1) {
                throw new Lora4jException(path + ": general.alignment is " + alignment + ", expected a power of two");
            }
        }
        Map<String, GgufTensor> tensors = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            GgufTensor t = tensorInfo(r, path, i, alignment);
            if (tensors.putIfAbsent(t.name(), t) != null) throw new Lora4jException(path + ": tensor '" + t.name() + "' appears twice");
        }
        long dataStart = align(r.position(), alignment);
        checkLayout(path, tensors.values(), dataStart, file.byteSize());
        return new GgufFile(path, arena, file.asSlice(Math.min(dataStart, file.byteSize())), version,
                Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
    }

    private static GgufTensor tensorInfo(GgufReader r, Path path, long i, long alignment) {
        String name = r.string("the name of tensor #" + i);
        String where = path + ": tensor '" + name + "'";
        long nDims = r.u32("the dims of tensor '" + name + "'");
        if (nDims < 1 || nDims > 4) throw new Lora4jException(where + " has " + nDims + " dimensions, expected 1 to 4");
        long[] ne = new long[(int) nDims];
        long count = 1;
        for (int d = 0; d < nDims; d++) {
            ne[d] = r.u64("dim " + d + " of tensor '" + name + "'");
            if (ne[d] <= 0) throw new Lora4jException(where + " has dim " + d + " = " + Long.toUnsignedString(ne[d]) + ", expected a positive size");
            if (count > Long.MAX_VALUE / ne[d]) throw new Lora4jException(where + ": its size overflows");
            count *= ne[d];
        }
        long typeId = r.u32("the type of tensor '" + name + "'");
        GgmlType type = GgmlType.of(typeId);
        if (type == null) throw new Lora4jException(where + " has type " + typeId + ", which is no ggml type");
        if (ne[0] % type.blockSize() != 0) {
            throw new Lora4jException(where + " has rows of " + ne[0] + " values, not a multiple of " + type + "'s block of " + type.blockSize());
        }
        long bytes = type.bytes(count);
        if (bytes < 0) throw new Lora4jException(where + ": its size in bytes overflows");
        long offset = r.u64("the offset of tensor '" + name + "'");
        if (offset < 0 || offset % alignment != 0) {
            throw new Lora4jException(where + " has offset " + Long.toUnsignedString(offset) + ", not a multiple of the alignment " + alignment);
        }
        return new GgufTensor(name, ne, type, offset, bytes);
    }

    /** Every tensor lies inside the file, none overlaps the next. */
    private static void checkLayout(Path path, java.util.Collection<GgufTensor> tensors, long dataStart, long fileSize) {
        List<GgufTensor> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(GgufTensor::offset));
        long end = 0;
        GgufTensor previous = null;
        for (GgufTensor t : byOffset) {
            if (t.offset() < end) {
                throw new Lora4jException(path + ": tensor '" + t.name() + "' (bytes " + t.offset() + " to " + (t.offset() + t.bytes())
                        + " of the data) overlaps tensor '" + previous.name() + "'");
            }
            if (t.offset() > fileSize - dataStart || t.bytes() > fileSize - dataStart - t.offset()) {
                throw new Lora4jException(path + ": tensor '" + t.name() + "' (" + t.type() + " " + t.dims() + ", " + t.bytes() + " bytes at data offset "
                        + t.offset() + ") extends past the end of the file (" + fileSize + " bytes, data from byte " + dataStart + "); is it truncated?");
            }
            end = t.offset() + t.bytes();
            previous = t;
        }
    }

    static long align(long position, long alignment) {
        return (position + alignment - 1) / alignment * alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    /** Every key/value, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Every tensor info, in file order. */
    public Map<String, GgufTensor> tensors() {
        return tensors;
    }

    public GgufTensor tensor(String name) {
        GgufTensor t = tensors.get(name);
        if (t == null) throw new Lora4jException(path + ": no tensor '" + name + "' (the file has " + tensors.size() + " tensors)");
        return t;
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    /** The value of {@code key}; a {@link Lora4jException} naming the key when it is missing. */
    public GgufValue value(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new Lora4jException(path + ": metadata key '" + key + "' is missing");
        return v;
    }

    /** A string value. */
    public String string(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.STRING) throw wrongType(key, v, "a STRING");
        return (String) v.value();
    }

    /** An integer value of any integer type, within [min, max]. */
    public long integer(String key, long min, long max) {
        GgufValue v = value(key);
        if (!v.type().integral()) throw wrongType(key, v, "an integer");
        long x = (Long) v.value();
        if ((v.type() == GgufValueType.UINT64 && x < 0) || x < min || x > max) {
            throw new Lora4jException(path + ": metadata key '" + key + "' is " + (v.type() == GgufValueType.UINT64 ? Long.toUnsignedString(x) : x)
                    + ", expected " + min + " to " + max);
        }
        return x;
    }

    /** A FLOAT32 or FLOAT64 value. */
    public double real(String key) {
        GgufValue v = value(key);
        if (v.type() == GgufValueType.FLOAT32) return (Float) v.value();
        if (v.type() == GgufValueType.FLOAT64) return (Double) v.value();
        throw wrongType(key, v, "a FLOAT32");
    }

    /** A BOOL value. */
    public boolean bool(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.BOOL) throw wrongType(key, v, "a BOOL");
        return (Boolean) v.value();
    }

    /** An ARRAY value whose elements are {@code element} (any integer type when {@code element} is integral). */
    public List<?> array(String key, GgufValueType element) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.ARRAY || !(v.elementType() == element || (element.integral() && v.elementType().integral()))) {
            throw wrongType(key, v, "an ARRAY of " + element);
        }
        return (List<?>) v.value();
    }

    private Lora4jException wrongType(String key, GgufValue v, String expected) {
        return new Lora4jException(path + ": metadata key '" + key + "' is " + v.describe() + ", expected " + expected);
    }

    /** The shape of tensor {@code name} in PyTorch order; fails if a dimension exceeds an int. */
    public Shape shape(String name) {
        GgufTensor t = tensor(name);
        for (long d : t.ne()) {
            if (d > Integer.MAX_VALUE) throw new Lora4jException(path + ": tensor '" + name + "' has shape " + t.dims() + ", a dimension over " + Integer.MAX_VALUE);
        }
        return t.shape();
    }

    /**
     * Tensor {@code name} as a weight storage: F32 as float32, F16 and BF16 kept in 16 bits, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K
     * and Q6_K kept as their blocks. A NaN or infinite value (or block scale) is an error, as is a type lora4j does not read.
     */
    public WeightStorage read(String name) {
        GgufTensor t = tensor(name);
        String where = path + ": tensor '" + name + "'";
        if (!t.type().readable()) {
            throw new Lora4jException(where + " has type " + t.type() + ", which lora4j does not read (it reads "
                    + String.join(", ", GgmlType.READABLE.stream().map(Enum::name).toList()) + ")");
        }
        if (t.count() > MAX_ARRAY || t.bytes() > MAX_ARRAY) {
            throw new Lora4jException(where + " has " + t.count() + " values, more than one Java array holds (" + MAX_ARRAY + ")");
        }
        if (!arena.scope().isAlive()) throw new IllegalStateException(path + ": already closed");
        MemorySegment bytes = data.asSlice(t.offset(), t.bytes());
        int n = (int) t.count();
        WeightStorage s = switch (t.type()) {
            case F32 -> new WeightStorage.F32(bytes.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)));
            case F16 -> new WeightStorage.F16(bytes.toArray(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)));
            case BF16 -> new WeightStorage.Bf16(bytes.toArray(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)));
            case Q8_0 -> new Q8_0(bytes.toArray(ValueLayout.JAVA_BYTE), n);
            case Q4_0 -> new Q4_0(bytes.toArray(ValueLayout.JAVA_BYTE), n);
            case Q5_0 -> new Q5_0(bytes.toArray(ValueLayout.JAVA_BYTE), n);
            case Q4_K -> new Q4K(bytes.toArray(ValueLayout.JAVA_BYTE), n);
            case Q5_K -> new Q5K(bytes.toArray(ValueLayout.JAVA_BYTE), n);
            case Q6_K -> new Q6K(bytes.toArray(ValueLayout.JAVA_BYTE), n);
            default -> throw new IllegalStateException("unreachable: " + t.type());
        };
        long bad = firstNonFinite(s);
        if (bad >= 0) {
            throw new Lora4jException(where + " (" + t.type() + ") holds a NaN or infinite " + (s instanceof BlockStorage b
                    ? "scale in block " + bad / b.blockSize() + " (values " + bad + " to " + (bad + b.blockSize() - 1) + ")"
                    : "value at flat index " + bad) + ": weights must be finite");
        }
        return s;
    }

    /** The first value (or first value of a block whose scale is) NaN or infinite, or −1. */
    private static long firstNonFinite(WeightStorage s) {
        return switch (s) {
            case WeightStorage.F32(float[] v) -> dev.lora4j.io.FiniteCheck.firstNonFinite(v, 0, v.length);
            case WeightStorage.F16(short[] h) -> firstWithExponent(h, 0x7C00);
            case WeightStorage.Bf16(short[] h) -> firstWithExponent(h, 0x7F80);
            case BlockStorage b -> b.firstNonFiniteBlock() < 0 ? -1 : (long) b.firstNonFiniteBlock() * b.blockSize();
        };
    }

    private static int firstWithExponent(short[] h, int exponent) {
        for (int i = 0; i < h.length; i++) if ((h[i] & exponent) == exponent) return i;
        return -1;
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
    }
}
