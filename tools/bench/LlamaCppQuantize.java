// A GGUF's matrices re-quantized by llama.cpp's own reference quantizers (libggml-base from node-llama-cpp, called
// through the FFM API), so lora4j can be measured on the k-quant files llama.cpp writes: lora4j reads Q4_K but has no
// Q4_K quantizer. Each 2-D tensor whose rows are whole 256-value blocks becomes Q4_K; one whose rows are whole 32-value
// blocks becomes Q5_0 (llama.cpp's own fallback for Q4_K: Qwen2.5-0.5B's 896-wide rows take it); the rest stays as it
// was. Used by tools/bench/base-dtypes.sh; run from the repository root:
//   java --enable-native-access=ALL-UNNAMED -cp lora4j-cli/target/lora4j.jar tools/bench/LlamaCppQuantize.java \
//        ~/.cache/lora4j/node-llama-cpp-3.21.1/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64 IN.gguf OUT.gguf
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufTensor;
import dev.lora4j.io.gguf.GgufValue;
import dev.lora4j.io.gguf.GgufWriter;
import dev.lora4j.tensor.WeightStorage;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class LlamaCppQuantize {
    private static final int LLAMA_FTYPE_MOSTLY_Q4_K_S = 14;

    public static void main(String[] args) throws Throwable {
        Path lib = Path.of(args[0]).resolve("libggml-base.so");
        Path in = Path.of(args[1]), out = Path.of(args[2]);
        if (java.nio.file.Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            System.err.println(out + " exists: give a new file (this tool never replaces one)");
            System.exit(1);
        }
        SymbolLookup ggml = SymbolLookup.libraryLookup(lib, Arena.global());
        FunctionDescriptor rowRef = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
        Map<GgmlType, MethodHandle> quantizers = Map.of(
                GgmlType.Q4_K, Linker.nativeLinker().downcallHandle(ggml.find("quantize_row_q4_K_ref").orElseThrow(), rowRef),
                GgmlType.Q5_0, Linker.nativeLinker().downcallHandle(ggml.find("quantize_row_q5_0_ref").orElseThrow(), rowRef));
        try (GgufFile f = GgufFile.open(in)) {
            Map<String, GgufValue> metadata = new LinkedHashMap<>(f.metadata());
            metadata.put("general.file_type", GgufValue.uint32(LLAMA_FTYPE_MOSTLY_Q4_K_S));
            List<GgufWriter.Entry> entries = new ArrayList<>();
            Map<GgmlType, Integer> counts = new LinkedHashMap<>();
            for (GgufTensor t : f.tensors().values()) {
                GgmlType type = t.ne().length != 2 ? null : t.ne()[0] % 256 == 0 ? GgmlType.Q4_K : t.ne()[0] % 32 == 0 ? GgmlType.Q5_0 : null;
                counts.merge(type == null ? t.type() : type, 1, Integer::sum);
                if (type == null) {
                    entries.add(new GgufWriter.Entry(t.name(), t.ne(), t.type(), () -> raw(f, t)));
                    continue;
                }
                entries.add(new GgufWriter.Entry(t.name(), t.ne(), type, () -> quantize(f.read(t.name()), t.count(), type, quantizers.get(type))));
            }
            GgufWriter.write(out, metadata, entries);
            System.out.println("wrote " + out + ": " + counts);
        }
    }

    /** The tensor's values through llama.cpp's quantize_row_*_ref over the whole tensor (rows are whole blocks). */
    private static byte[] quantize(WeightStorage w, long count, GgmlType type, MethodHandle quantizer) {
        float[] values = new float[Math.toIntExact(count)];
        w.widen(0, values, 0, values.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            MemorySegment dst = arena.allocate(type.bytes(count));
            quantizer.invokeExact(src, dst, count);
            return dst.toArray(ValueLayout.JAVA_BYTE);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** A tensor kept in its type: its values written back in that encoding (F32 here: norms and biases). */
    private static byte[] raw(GgufFile f, GgufTensor t) {
        float[] values = new float[Math.toIntExact(t.count())];
        f.read(t.name()).widen(0, values, 0, values.length);
        return GgufWriter.encode(values, t.type());
    }
}
