package dev.lora4j.nn;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.WeightStore;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Strict loading of checkpoint tensors into a module, as torch's {@code load_state_dict(strict=True)}:
 * every parameter must be present with its exact shape and every checkpoint tensor must land somewhere;
 * all missing, unexpected and mis-shaped keys are reported together in one error.
 */
public final class StateDict {
    private StateDict() {}

    /**
     * Copies {@code store}'s tensors into {@code model}'s parameters. {@code toModelKey} maps a checkpoint
     * key to a parameter name (stripping prefixes such as {@code transformer.}), or returns null for a
     * tensor the model deliberately ignores (GPT-2's {@code attn.bias} mask buffers).
     */
    public static void load(Module model, WeightStore store, UnaryOperator<String> toModelKey) {
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
                if (!s.equals(p.shape())) misShaped.add(key + ": checkpoint " + s + ", model expects " + p.shape());
            }
        }
        List<String> missing = new ArrayList<>();
        for (String name : params.keySet()) if (!found.containsKey(name)) missing.add(name);
        if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty() || !duplicate.isEmpty()) {
            StringBuilder sb = new StringBuilder(store.dir() + ": the weights do not match the model");
            section(sb, "missing", missing);
            section(sb, "unexpected", unexpected);
            section(sb, "wrong shape", misShaped);
            section(sb, "given twice", duplicate);
            throw new Lora4jException(sb.toString());
        }
        found.forEach((name, key) -> store.readInto(key, params.get(name).data()));
    }

    private static void section(StringBuilder sb, String title, List<String> keys) {
        if (keys.isEmpty()) return;
        sb.append("\n  ").append(title).append(" (").append(keys.size()).append("): ");
        int shown = Math.min(keys.size(), 20);
        sb.append(String.join(", ", keys.subList(0, shown)));
        if (shown < keys.size()) sb.append(", ... ").append(keys.size() - shown).append(" more");
    }
}
