package dev.lora4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every setting that changes what a training run computes (hyper-parameters, the LoRA configuration, the method, the
 * base model's and the data's fingerprints), by name, as a checkpoint stores them. A resume compares the run's settings
 * with the checkpoint's and refuses any difference, except the optimizer settings in {@link #OVERRIDABLE} when the
 * caller names them as deliberate changes (lowering the learning rate after a divergence, training longer).
 */
public record RunSettings(SortedMap<String, String> values) {
    /** The settings a resume may change when they are named: they steer the optimizer, not what a step computes. */
    public static final Set<String> OVERRIDABLE = Collections.unmodifiableSet(new TreeSet<>(
            Set.of("lr", "schedule", "warmup", "weight_decay", "max_grad_norm", "epochs", "max_steps", "loraplus_lr_ratio")));

    public RunSettings {
        values = Collections.unmodifiableSortedMap(new TreeMap<>(values));
    }

    public static RunSettings empty() {
        return new RunSettings(new TreeMap<>());
    }

    /** These settings plus {@code name = value} (its string form). */
    public RunSettings with(String name, Object value) {
        SortedMap<String, String> v = new TreeMap<>(values);
        v.put(name, String.valueOf(value));
        return new RunSettings(v);
    }

    /** These settings plus every one of {@code other} (which must not name the same settings). */
    public RunSettings plus(RunSettings other) {
        SortedMap<String, String> v = new TreeMap<>(values);
        other.values.forEach((k, val) -> {
            if (v.put(k, val) != null) throw new IllegalArgumentException("setting '" + k + "' is given twice");
        });
        return new RunSettings(v);
    }

    /** Refuses a name that a resume may not change, listing the ones it may. */
    public static void checkOverridable(Set<String> names) {
        for (String n : names) {
            if (!OVERRIDABLE.contains(n)) {
                throw new Lora4jException("'" + n + "' cannot be changed when resuming (it fixes what each step computes); "
                        + "only " + String.join(", ", OVERRIDABLE) + " can");
            }
        }
    }

    /**
     * The settings where this run differs from {@code saved} (a checkpoint's), as "name: this (checkpoint: that)", except
     * those named in {@code overrides}. A setting only one side has is a difference too.
     */
    public List<String> differencesFrom(RunSettings saved, Set<String> overrides) {
        List<String> out = new ArrayList<>();
        Set<String> names = new TreeSet<>(values.keySet());
        names.addAll(saved.values.keySet());
        for (String n : names) {
            String mine = values.get(n), theirs = saved.values.get(n);
            if (Objects.equals(mine, theirs) || overrides.contains(n)) continue;
            out.add(n + ": " + (mine == null ? "(not set)" : mine) + " (checkpoint: " + (theirs == null ? "not set" : theirs) + ")");
        }
        return out;
    }

    /** The named overrides that really change a setting, as "name: checkpoint value → this run's". */
    public List<String> overriddenFrom(RunSettings saved, Set<String> overrides) {
        List<String> out = new ArrayList<>();
        for (String n : new TreeSet<>(overrides)) {
            if (!Objects.equals(values.get(n), saved.values.get(n))) out.add(n + ": " + saved.values.get(n) + " → " + values.get(n));
        }
        return out;
    }

    JsonNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        values.forEach(o::put);
        return o;
    }

    /** The settings of a trainer_state.json; every value must be a string. */
    static RunSettings fromJson(JsonNode node, String source) {
        if (!node.isObject()) throw new Lora4jException(source + ": 'settings' is not an object");
        SortedMap<String, String> v = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) throw new Lora4jException(source + ": setting '" + e.getKey() + "' is not a string");
            v.put(e.getKey(), e.getValue().asText());
        }
        return new RunSettings(v);
    }
}
