// The weights of a Hugging Face directory saved by transformers with bitsandbytes 4-bit quantization, as lora4j reads
// them: each quantized `<module>.weight` (uint8 [(n + 1) / 2, 1]) with its quant state, as bitsandbytes'
// Linear4bit._save_to_state_dict / QuantState.as_dict(packed=True) write it and QuantState.from_dict reads it back
// (`.absmax`, `.quant_map`, `.nested_absmax`, `.nested_quant_map`, `.quant_state.bitsandbytes__<nf4|fp4>`).
package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Bnb4bit;
import dev.lora4j.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every quantized weight is checked when opened, from the headers and the small quant-state tensors, before a weight
 * is read: the packed JSON (quant_type, blocksize, dtype, shape and, with double quantization, nested_blocksize,
 * nested_dtype, nested_offset), each tensor's dtype and shape against it, the code book against the quant_type's, and
 * the config's quant_type and double quantization. The other tensors (lm_head, embeddings, norms, biases, any module
 * in llm_int8_skip_modules) are read as saved. A quantized weight becomes a {@link Bnb4bit} storage: its blocks stay
 * 4-bit in memory.
 */
public final class Bnb4bitWeights {
    private static final String QUANT_STATE = ".quant_state.bitsandbytes__";
    /** The tensors a quant state adds under its weight's key (QuantState.valid_qs_keys that are tensors). */
    private static final List<String> PARTS = List.of(".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map");
    private static final Set<Integer> BLOCK_SIZES = Set.of(32, 64, 128, 256, 512, 1024, 2048, 4096);
    /** The largest packed quant state read (a few hundred bytes in practice). */
    private static final long MAX_STATE_BYTES = 1 << 16;

    /** One quantized weight: its quant state, checked. */
    private record Quantized(String key, Bnb4bit.QuantType type, int blockSize, Bnb4bit.Dtype dtype, Shape shape,
                             int nestedBlockSize, float nestedOffset) {
        boolean nested() {
            return nestedBlockSize > 0;
        }

        int blocks() {
            return shape.size() / blockSize;
        }
    }

    private final WeightStore store;
    private final Map<String, Quantized> quantized;
    private final List<String> names;

    private Bnb4bitWeights(WeightStore store, Map<String, Quantized> quantized, List<String> names) {
        this.store = store;
        this.quantized = quantized;
        this.names = names;
    }

    /** Checks every quantized weight of {@code store} against {@code config}; reads only headers and quant states. */
    public static Bnb4bitWeights open(WeightStore store, BnbQuantization config) {
        Map<String, Quantized> quantized = new LinkedHashMap<>();
        for (String name : store.names()) {
            int at = name.indexOf(QUANT_STATE);
            if (at > 0 && quantized.put(name.substring(0, at), check(store, name.substring(0, at), name, config)) != null) {
                throw new Lora4jException(where(store, name) + "a second quant state of '" + name.substring(0, at) + "' (QuantState.from_dict"
                        + " takes exactly one)");
            }
        }
        List<String> names = new ArrayList<>();
        for (String name : store.names()) {
            String owner = owner(name);
            if (owner != null) {
                if (!quantized.containsKey(owner)) {
                    throw new Lora4jException(where(store, name) + "a quant-state tensor, but '" + owner + "' has no "
                            + QUANT_STATE.substring(1) + "nf4 (or fp4) tensor");
                }
                continue;
            }
            if (!quantized.containsKey(name) && store.entry(name).dtype() == DType.U8) {
                throw new Lora4jException(where(store, name) + "uint8 (a bitsandbytes 4-bit weight?) without its quant state '"
                        + name + QUANT_STATE + config.quantType().name().toLowerCase() + "'");
            }
            names.add(name);
        }
        if (quantized.isEmpty()) {
            throw new Lora4jException(store.dir() + ": config.json has a bitsandbytes quantization_config, but no weight has a quant state ("
                    + QUANT_STATE.substring(1) + "nf4/fp4)");
        }
        return new Bnb4bitWeights(store, Map.copyOf(quantized), List.copyOf(names));
    }

    /** The quantized weight a quant-state tensor belongs to, or null for any other tensor. */
    private static String owner(String name) {
        int at = name.indexOf(QUANT_STATE);
        if (at > 0) return name.substring(0, at);
        for (String part : PARTS) if (name.endsWith(part)) return name.substring(0, name.length() - part.length());
        return null;
    }

    private static Quantized check(WeightStore store, String key, String stateKey, BnbQuantization config) {
        String typeName = stateKey.substring(stateKey.indexOf(QUANT_STATE) + QUANT_STATE.length());
        Bnb4bit.QuantType type = switch (typeName) {
            case "nf4" -> Bnb4bit.QuantType.NF4;
            case "fp4" -> Bnb4bit.QuantType.FP4;
            default -> throw new Lora4jException(where(store, stateKey) + "unknown quant_type '" + typeName + "' (expected nf4 or fp4)");
        };
        if (!store.contains(key)) throw new Lora4jException(where(store, stateKey) + "a quant state of '" + key + "', which the weights do not hold");
        TensorInfo state = store.entry(stateKey);
        if (state.dtype() != DType.U8 || state.rank() != 1 || state.byteLength() > MAX_STATE_BYTES) {
            throw new Lora4jException(where(store, stateKey) + state.dtype() + Arrays.toString(state.shape())
                    + ", expected the uint8 bytes of a JSON object (at most " + MAX_STATE_BYTES + ")");
        }
        JsonNode json = Json.parseObject(store.bytes(stateKey), store.fileOf(stateKey) + ": tensor '" + stateKey + "'", "the quant state");
        String where = where(store, stateKey);
        String quantType = text(json, "quant_type", where);
        if (!quantType.equals(typeName)) throw new Lora4jException(where + "quant_type '" + quantType + "' but the key says '" + typeName + "'");
        if (type != config.quantType()) {
            throw new Lora4jException(where + "quant_type " + typeName + ", but " + config.source() + " says bnb_4bit_quant_type "
                    + config.quantType().name().toLowerCase());
        }
        int blockSize = integer(json, "blocksize", where);
        if (!BLOCK_SIZES.contains(blockSize)) {
            throw new Lora4jException(where + "blocksize " + blockSize + " is not one bitsandbytes uses (32, 64, ..., 4096)");
        }
        Bnb4bit.Dtype dtype = dtype(text(json, "dtype", where), where);
        Shape shape = shape(json.get("shape"), where);
        long n = shape.size();
        if (n % blockSize != 0) {
            throw new Lora4jException(where + "shape " + shape + " is " + n + " values, not whole blocks of " + blockSize
                    + " (lora4j holds 4-bit weights in whole blocks)");
        }
        long blocks = n / blockSize;
        require(store, key, DType.U8, (n + 1) / 2, "the packed 4-bit codes of shape " + shape);
        require(store, key + ".quant_map", DType.F32, 16, "the 16 values of the " + typeName + " code book");
        float[] code = new float[16];
        store.readInto(key + ".quant_map", code);
        float[] expected = type.code();
        for (int i = 0; i < 16; i++) {
            if (code[i] != expected[i]) {
                throw new Lora4jException(where(store, key + ".quant_map") + "value " + i + " is " + code[i] + ", but bitsandbytes' "
                        + typeName + " code book has " + expected[i]);
            }
        }
        boolean nested = json.has("nested_blocksize") || json.has("nested_offset") || json.has("nested_dtype");
        for (String part : List.of(".nested_absmax", ".nested_quant_map")) {
            if (store.contains(key + part) != nested) {
                throw new Lora4jException(where(store, nested ? stateKey : key + part) + (nested
                        ? "double quantization (nested_* fields), but there is no tensor '" + key + part + "'"
                        : "a nested tensor, but the quant state " + stateKey + " has no nested_* fields"));
            }
        }
        if (nested != config.doubleQuant()) {
            throw new Lora4jException(where + (nested ? "double quantized" : "not double quantized") + ", but " + config.source()
                    + " says bnb_4bit_use_double_quant " + config.doubleQuant());
        }
        if (!nested) {
            require(store, key + ".absmax", DType.F32, blocks, "one float32 absmax per block of " + blockSize);
            return new Quantized(key, type, blockSize, dtype, shape, 0, 0f);
        }
        int nestedBlockSize = integer(json, "nested_blocksize", where);
        if (nestedBlockSize <= 0) throw new Lora4jException(where + "nested_blocksize " + nestedBlockSize + " is not positive");
        String nestedDtype = text(json, "nested_dtype", where);
        if (!nestedDtype.equals("float32")) throw new Lora4jException(where + "nested_dtype '" + nestedDtype + "', expected float32");
        JsonNode offset = json.get("nested_offset");
        if (offset == null || !offset.isNumber() || !Float.isFinite(offset.floatValue())) {
            throw new Lora4jException(where + "nested_offset is " + Json.describe(offset) + ", expected a finite number");
        }
        require(store, key + ".absmax", DType.U8, blocks, "one 8-bit absmax code per block of " + blockSize);
        require(store, key + ".nested_absmax", DType.F32, (blocks + nestedBlockSize - 1) / nestedBlockSize,
                "one float32 per nested block of " + nestedBlockSize + " absmax codes");
        require(store, key + ".nested_quant_map", DType.F32, 256, "the 256 values of the 8-bit code");
        return new Quantized(key, type, blockSize, dtype, shape, nestedBlockSize, (float) offset.doubleValue());
    }

    private static void require(WeightStore store, String key, DType dtype, long values, String what) {
        if (!store.contains(key)) throw new Lora4jException(store.dir() + ": no tensor '" + key + "' (" + what + ")");
        TensorInfo t = store.entry(key);
        if (t.dtype() != dtype || t.numel() != values) {
            throw new Lora4jException(where(store, key) + t.dtype() + Arrays.toString(t.shape()) + ", expected " + values + " " + dtype
                    + " values (" + what + ")");
        }
    }

    private static String where(WeightStore store, String key) {
        return store.fileOf(key) + ": tensor '" + key + "': ";
    }

    private static String text(JsonNode json, String field, String where) {
        JsonNode v = json.get(field);
        if (v == null || !v.isTextual()) throw new Lora4jException(where + field + " is " + Json.describe(v) + ", expected a string");
        return v.textValue();
    }

    private static int integer(JsonNode json, String field, String where) {
        JsonNode v = json.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new Lora4jException(where + field + " is " + Json.describe(v) + ", expected an integer");
        }
        return v.intValue();
    }

    private static Bnb4bit.Dtype dtype(String name, String where) {
        return switch (name) {
            case "float32" -> Bnb4bit.Dtype.FLOAT32;
            case "bfloat16" -> Bnb4bit.Dtype.BFLOAT16;
            case "float16" -> Bnb4bit.Dtype.FLOAT16;
            default -> throw new Lora4jException(where + "dtype '" + name + "' is not one bitsandbytes 4-bit dequantizes to (float32, bfloat16, float16)");
        };
    }

    private static Shape shape(JsonNode node, String where) {
        if (node == null || !node.isArray() || node.isEmpty()) throw new Lora4jException(where + "shape is " + Json.describe(node) + ", expected an array of sizes");
        int[] dims = new int[node.size()];
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = node.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() <= 0) {
                throw new Lora4jException(where + "shape " + node + " has " + Json.describe(d) + ", expected positive sizes");
            }
            dims[i] = d.intValue();
            n *= dims[i];
            if (n > Integer.MAX_VALUE - 8) throw new Lora4jException(where + "shape " + node + " has more values than one Java array holds");
        }
        return new Shape(dims);
    }

    public WeightStore store() {
        return store;
    }

    /** The tensor names as a model sees them: the quantized weights and the plain tensors, without the quant states. */
    public List<String> names() {
        return names;
    }

    /** The shape of a tensor; a quantized weight's is its quant state's. */
    public Shape shape(String name) {
        Quantized q = quantized.get(name);
        return q == null ? store.shape(name) : q.shape();
    }

    /** The dtype a tensor is dequantized to, or stored in: a quantized weight's is its quant state's dtype. */
    public DType dtype(String name) {
        Quantized q = quantized.get(name);
        if (q == null) return store.entry(name).dtype();
        return switch (q.dtype()) {
            case FLOAT32 -> DType.F32;
            case BFLOAT16 -> DType.BF16;
            case FLOAT16 -> DType.F16;
        };
    }

    /** Reads {@code name} as float32 (a quantized weight dequantized as bitsandbytes does). */
    public void readInto(String name, float[] dst) {
        Bnb4bit s = storage(name);
        if (s == null) store.readInto(name, dst);
        else s.widen(0, dst, 0, s.size());
    }

    /** Reads values [from, from + n) of {@code name} as float32 into dst[0, n). */
    public void readRange(String name, int from, float[] dst, int n) {
        Bnb4bit s = storage(name);
        if (s == null) store.readRange(name, from, dst, n);
        else s.widen(from, dst, 0, n);
    }

    /**
     * A quantized weight as a 4-bit storage, its absmax values dequantized first with double quantization (bitsandbytes'
     * dequantize_blockwise: nested_quant_map[code] · nested_absmax[block / nested_blocksize], then + nested_offset,
     * in float32); null for a plain tensor.
     */
    public Bnb4bit storage(String name) {
        Quantized q = quantized.get(name);
        if (q == null) return null;
        int blocks = q.blocks();
        float[] absmax = new float[blocks];
        if (q.nested()) {
            byte[] codes = store.bytes(q.key() + ".absmax");
            float[] nestedAbsmax = new float[(blocks + q.nestedBlockSize() - 1) / q.nestedBlockSize()];
            float[] code = new float[256];
            store.readInto(q.key() + ".nested_absmax", nestedAbsmax);
            store.readInto(q.key() + ".nested_quant_map", code);
            for (int i = 0; i < blocks; i++) absmax[i] = code[codes[i] & 0xFF] * nestedAbsmax[i / q.nestedBlockSize()] + q.nestedOffset();
        } else {
            store.readInto(q.key() + ".absmax", absmax);
        }
        Bnb4bit s = Bnb4bit.of(q.type(), q.blockSize(), q.dtype(), store.bytes(q.key()), absmax, q.shape().size());
        int bad = s.firstNonFiniteBlock();
        if (bad >= 0) throw new Lora4jException(where(store, q.key()) + "block " + bad + " has absmax " + absmax[bad] + ": weights must be finite");
        return s;
    }
}
