package dev.lora4j.nn;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.FiniteCheck;
import dev.lora4j.io.WeightStore;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

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

        /** Names the source in errors. */
        String source();

        static Source of(WeightStore store) {
            return new Source() {
                public List<String> names() { return store.names(); }
                public Shape shape(String name) { return store.shape(name); }
                public void readInto(String name, float[] dst) { store.readInto(name, dst); }
                public String source() { return store.dir().toString(); }
            };
        }

        static Source of(Map<String, Tensor> tensors, String source) {
            return new Source() {
                public List<String> names() { return List.copyOf(tensors.keySet()); }
                public Shape shape(String name) { return tensors.get(name).shape(); }
                public void readInto(String name, float[] dst) {
                    System.arraycopy(tensors.get(name).data(), 0, dst, 0, dst.length);
                    int bad = FiniteCheck.firstNonFinite(dst, 0, dst.length);
                    if (bad >= 0) {
                        throw new Lora4jException(source + ": tensor '" + name + "' holds " + dst[bad] + " at flat index " + bad
                                + ": weights must be finite");
                    }
                }
                public String source() { return source; }
            };
        }
    }

    private StateDict() {}

    /**
     * Copies {@code store}'s tensors into {@code model}'s parameters. {@code toModelKey} maps a checkpoint
     * key to a parameter name (stripping prefixes such as {@code transformer.}), or returns null for a
     * tensor the model deliberately ignores (GPT-2's {@code attn.bias} mask buffers).
     */
    public static void load(Module model, WeightStore store, UnaryOperator<String> toModelKey) {
        load(model, Source.of(store), toModelKey, name -> false);
    }

    /**
     * {@link #load(Module, WeightStore, UnaryOperator)} from any source, where the parameters {@code mayBeNew}
     * accepts (a task head a bare checkpoint lacks) may be missing; returns those that were, left as they are.
     */
    public static List<String> load(Module model, Source store, UnaryOperator<String> toModelKey, Predicate<String> mayBeNew) {
        Map<String, Tensor> params = model.namedParameters();
        Map<String, String> found = new LinkedHashMap<>();   // parameter name -> checkpoint key
        List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>(), duplicate = new ArrayList<>();
        for (String key : store.names()) {
            String name = toModelKey.apply(key);
            if (name == null) continue;
            Tensor p = params.get(name);
            if (p == null) {
                unexpected.add(key);
            } else if (found.putIfAbsent(name, key) != null) {
                duplicate.add(key + " (and " + found.get(name) + ")");
            } else {
                Shape s = store.shape(key);
                if (!s.equals(p.shape())) {
                    misShaped.add(key + ": checkpoint " + s + ", model expects " + p.shape()
                            + (mayBeNew.test(name) ? " (a new task head: the checkpoint's has another number of labels or outputs)" : ""));
                }
            }
        }
        List<String> missing = new ArrayList<>(), fresh = new ArrayList<>();
        for (String name : params.keySet()) {
            if (!found.containsKey(name)) (mayBeNew.test(name) ? fresh : missing).add(name);
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty() || !duplicate.isEmpty()) {
            StringBuilder sb = new StringBuilder(store.source() + ": the weights do not match the model");
            section(sb, "missing", missing);
            section(sb, "unexpected", unexpected);
            section(sb, "wrong shape", misShaped);
            section(sb, "given twice", duplicate);
            throw new Lora4jException(sb.toString());
        }
        found.forEach((name, key) -> store.readInto(key, params.get(name).data()));
        return fresh;
    }

    private static void section(StringBuilder sb, String title, List<String> keys) {
        if (keys.isEmpty()) return;
        sb.append("\n  ").append(title).append(" (").append(keys.size()).append("): ");
        int shown = Math.min(keys.size(), 20);
        sb.append(String.join(", ", keys.subList(0, shown)));
        if (shown < keys.size()) sb.append(", ... ").append(keys.size() - shown).append(" more");
    }
}
