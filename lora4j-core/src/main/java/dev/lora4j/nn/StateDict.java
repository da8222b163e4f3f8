package dev.lora4j.nn;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.Bnb4bitWeights;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.io.WeightStore;
import dev.lora4j.tensor.CompactFormat;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict loading of checkpoint tensors into a module, as torch's {@code load_state_dict(strict=True)}:
 * every parameter must be present with its exact shape and every checkpoint tensor must land somewhere;
 * all missing, unexpected and mis-shaped keys are reported together in one error. The one loader of every family.
 */
public final class StateDict {
    /** Where checkpoint tensors come from: a model directory's safetensors, or tensors in memory (an ONNX import). */
    public interface Source {
        List<String> names();

        Shape shape(String name);

        void readInto(String name, float[] dst);

        /** Values [from, from + n) of {@code name}, flat in row-major order, into dst[0, n): a tensor read a run at a time. */
        void readRange(String name, int from, float[] dst, int n);

        /**
         * The values of a matrix held in a compact storage (a quantized GGUF weight), which the parameter then keeps
         * instead of float32; null (the default) to read it as float32 with {@link #readInto}.
         */
        default WeightStorage storage(String name) {
            return null;
        }

        /** Names the source in errors. */
        String source();

        static Source of(WeightStore store) {
            return new Source() {
                public List<String> names() { return store.names(); }
                public Shape shape(String name) { return store.shape(name); }
                public void readInto(String name, float[] dst) { store.readInto(name, dst); }
                public void readRange(String name, int from, float[] dst, int n) { store.readRange(name, from, dst, n); }
                public String source() { return store.dir().toString(); }
            };
        }

        /** A bitsandbytes 4-bit checkpoint: its quantized weights as 4-bit storages, the other tensors as saved. */
        static Source of(Bnb4bitWeights weights) {
            return new Source() {
                public List<String> names() { return weights.names(); }
                public Shape shape(String name) { return weights.shape(name); }
                public void readInto(String name, float[] dst) { weights.readInto(name, dst); }
                public void readRange(String name, int from, float[] dst, int n) { weights.readRange(name, from, dst, n); }
                public WeightStorage storage(String name) { return weights.storage(name); }
                public String source() { return weights.store().dir().toString(); }
            };
        }

        static Source of(Map<String, Tensor> tensors, String source) {
            return new Source() {
                public List<String> names() { return List.copyOf(tensors.keySet()); }
                public Shape shape(String name) { return tensors.get(name).shape(); }
                public void readInto(String name, float[] dst) {
                    readRange(name, 0, dst, dst.length);
                }
                public void readRange(String name, int from, float[] dst, int n) {
                    System.arraycopy(tensors.get(name).data(), from, dst, 0, n);
                    int bad = FiniteCheck.firstNonFinite(dst, 0, n);
                    if (bad >= 0) {
                        throw new Lora4jException(source + ": tensor '" + name + "' holds " + dst[bad] + " at flat index " + (from + bad)
                                + ": weights must be finite");
                    }
                }
                public String source() { return source; }
            };
        }
    }

    /** The most keys one section of an error lists. */
    private static final int LISTED = 20;

    private StateDict() {}

    /**
     * Copies {@code store}'s tensors into {@code model}'s parameters. {@code toModelKey} maps a checkpoint
     * key to a parameter name (stripping prefixes such as {@code transformer.}), or returns null for a
     * tensor the model deliberately ignores (GPT-2's {@code attn.bias} mask buffers).
     */
    public static void load(Module model, WeightStore store, UnaryOperator<String> toModelKey) {
        load(model, Source.of(store), toModelKey, name -> false, name -> null);
    }

    /**
     * {@link #load(Module, WeightStore, UnaryOperator)} from any source, where the parameters {@code mayBeNew}
     * accepts (a task head a bare checkpoint lacks) may be missing; returns those that were, left as they are.
     * A matrix {@code formats} names a format for (by parameter name; null: float32) is held in it, encoded as it is
     * read ({@link CompactFormat#encode(int, CompactFormat.Values)}), so its float32 values never exist at once; a matrix
     * the source keeps compact (a quantized GGUF or bitsandbytes weight) stays as it is, unless it is float32.
     */
    public static List<String> load(Module model, Source store, UnaryOperator<String> toModelKey, Predicate<String> mayBeNew,
                                    Function<String, CompactFormat> formats) {
        Map<String, Tensor> params = model.namedParameters();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        params.forEach((name, p) -> shapes.put(name, p.shape()));
        Match m = match(shapes, store, toModelKey, mayBeNew, "the model");
        m.found().forEach((name, key) -> {
            Tensor p = params.get(name);
            CompactFormat format = formats.apply(name);
            if (format != null && !format.fits(p.shape())) format = null;
            WeightStorage compact = store.storage(key);
            if (compact instanceof WeightStorage.F32 f32 && format != null) p.hold(format.encode(f32.values()));
            else if (compact != null) p.hold(compact);
            else if (format != null) p.hold(format.encode(p.size(), (from, dst, n) -> store.readRange(key, from, dst, n)));
            else store.readInto(key, p.data());
        });
        return m.fresh();
    }

    /**
     * The check {@link #load} makes, against the parameter shapes a config implies ({@code expected}) instead of a
     * built model: run before the model is allocated, so a config whose sizes the checkpoint does not have fails with
     * the keys that differ instead of allocating what the config asks for.
     */
    public static void check(Map<String, Shape> expected, Source store, UnaryOperator<String> toModelKey, Predicate<String> mayBeNew) {
        match(expected, store, toModelKey, mayBeNew, "the model its config describes");
    }

    /**
     * Refuses a config with more layers than the checkpoint holds, before the expected shapes of every layer are even
     * listed: {@code layerPrefix} ("h.") followed by the layer number starts each layer's parameter names, and
     * {@code field} names the config's layer count ("n_layer").
     */
    public static void requireLayers(Source store, UnaryOperator<String> toModelKey, String layerPrefix, int layers, String field) {
        Pattern layer = Pattern.compile(Pattern.quote(layerPrefix) + "(\\d{1,9})\\..*");
        TreeSet<Integer> held = new TreeSet<>();
        for (String key : store.names()) {
            String name = toModelKey.apply(key);
            Matcher m = name == null ? null : layer.matcher(name);
            if (m != null && m.matches()) held.add(Integer.parseInt(m.group(1)));
        }
        if (held.size() < layers) {
            throw new Lora4jException(store.source() + ": the config's " + field + " is " + layers + ", but the weights hold "
                    + (held.isEmpty() ? "no layers (" + layerPrefix + "N.*)"
                    : held.size() + " layer" + (held.size() == 1 ? "" : "s") + " (" + layerPrefix + held.first() + " to " + layerPrefix + held.last() + ")"));
        }
    }

    /** Which parameter comes from which checkpoint key, and the parameters {@code mayBeNew} let be missing. */
    private record Match(Map<String, String> found, List<String> fresh) {}

    private static Match match(Map<String, Shape> params, Source store, UnaryOperator<String> toModelKey, Predicate<String> mayBeNew,
                               String model) {
        Map<String, String> found = new LinkedHashMap<>();   // parameter name -> checkpoint key
        List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>(), duplicate = new ArrayList<>();
        for (String key : store.names()) {
            String name = toModelKey.apply(key);
            if (name == null) continue;
            if (!params.containsKey(name)) {
                unexpected.add(key);
            } else if (found.putIfAbsent(name, key) != null) {
                duplicate.add(key + " (and " + found.get(name) + ")");
            }
        }
        List<String> missing = new ArrayList<>(), fresh = new ArrayList<>();
        params.forEach((name, p) -> {       // in the model's order: embeddings first, then layer by layer
            String key = found.get(name);
            if (key == null) {
                (mayBeNew.test(name) ? fresh : missing).add(name);
                return;
            }
            Shape s = store.shape(key);
            if (!s.equals(p)) {
                misShaped.add(key + ": checkpoint " + s + ", model expects " + p
                        + (mayBeNew.test(name) ? " (a new task head: the checkpoint's has another number of labels or outputs)" : ""));
            }
        });
        if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty() || !duplicate.isEmpty()) {
            StringBuilder sb = new StringBuilder(store.source() + ": the weights do not match " + model);
            section(sb, "missing", missing);
            section(sb, "unexpected", unexpected);
            section(sb, "wrong shape", misShaped);
            section(sb, "given twice", duplicate);
            throw new Lora4jException(sb.toString());
        }
        return new Match(found, fresh);
    }

    /** Appends a line "  title (N): a, b, ..." listing at most {@link #LISTED} keys, then how many more there are. */
    public static void section(StringBuilder sb, String title, List<String> keys) {
        if (keys.isEmpty()) return;
        sb.append("\n  ").append(title).append(" (").append(keys.size()).append("): ");
        int shown = Math.min(keys.size(), LISTED);
        sb.append(String.join(", ", keys.subList(0, shown)));
        if (shown < keys.size()) sb.append(", ... ").append(keys.size() - shown).append(" more");
    }
}
