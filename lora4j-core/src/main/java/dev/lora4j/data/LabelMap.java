package dev.lora4j.data;

import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.HfConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The class labels of a sequence classifier, as Hugging Face configs name them: {@code id2label} (id → name,
 * ids 0..N−1) and its inverse {@code label2id}. Saved beside an adapter as {@code label_map.json}, which holds
 * exactly the fields a classifier's config.json carries ({@code id2label}, {@code label2id}, {@code problem_type}),
 * so Python can pass them to {@code AutoModelForSequenceClassification.from_pretrained(base, **label_map)}.
 */
public record LabelMap(List<String> id2label) {
    public static final String FILE = "label_map.json";
    public static final String PROBLEM_TYPE = "single_label_classification";
    /** The most classes lora4j builds a classifier for: integer labels are class ids, so a stray huge id cannot size a head. */
    public static final int MAX_LABELS = 10_000;

    public LabelMap {
        if (id2label == null || id2label.isEmpty()) throw new Lora4jException("a label map needs at least one label");
        id2label = List.copyOf(id2label);
        if (new HashSet<>(id2label).size() != id2label.size()) throw new Lora4jException("label names repeat: " + id2label);
    }

    /** HF's default names when only num_labels is known: LABEL_0, LABEL_1, ... */
    public static LabelMap defaults(int numLabels) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < numLabels; i++) names.add("LABEL_" + i);
        return new LabelMap(names);
    }

    public int size() {
        return id2label.size();
    }

    public String name(int id) {
        return id2label.get(id);
    }

    /** The id of a label name, or −1. */
    public int id(String name) {
        return id2label.indexOf(name);
    }

    public Map<String, Integer> label2id() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < id2label.size(); i++) m.put(id2label.get(i), i);
        return m;
    }

    /**
     * A config's {@code id2label} object ({"0": "NEGATIVE", "1": "POSITIVE"}): keys must be the ids 0..N−1
     * (as strings, in any order), values strings. {@code source} names the file in errors.
     */
    public static LabelMap fromId2Label(JsonNode id2label, String source) {
        if (!id2label.isObject() || id2label.isEmpty()) {
            throw new Lora4jException(source + ": field 'id2label' must be a non-empty object of id → label name");
        }
        String[] names = new String[id2label.size()];
        for (var e : id2label.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new Lora4jException(source + ": id2label key '" + e.getKey() + "' is not an integer id");
            }
            if (id < 0 || id >= names.length || names[id] != null) {
                throw new Lora4jException(source + ": id2label ids must be 0.." + (names.length - 1) + " once each, found '" + e.getKey() + "'");
            }
            if (!e.getValue().isTextual()) throw new Lora4jException(source + ": id2label['" + id + "'] is not a string");
            names[id] = e.getValue().textValue();
        }
        return new LabelMap(List.of(names));
    }

    /** Reads a {@code label_map.json}; only problem_type single_label_classification (or none) is supported. */
    public static LabelMap read(Path file) {
        HfConfig c = HfConfig.read(file);
        if (!c.has("id2label")) throw new Lora4jException(file + ": missing required field 'id2label'");
        String problem = c.stringOr("problem_type", PROBLEM_TYPE);
        if (!problem.equals(PROBLEM_TYPE)) {
            throw new Lora4jException(file + ": problem_type '" + problem + "' is not supported (only " + PROBLEM_TYPE + ")");
        }
        return fromId2Label(c.raw().get("id2label"), file.toString());
    }

    /** label_map.json's text: id2label, label2id and problem_type, two-space indented. */
    public String toJson() {
        Map<String, Object> id2 = new LinkedHashMap<>();
        for (int i = 0; i < id2label.size(); i++) id2.put(Integer.toString(i), id2label.get(i));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id2label", id2);
        m.put("label2id", label2id());
        m.put("problem_type", PROBLEM_TYPE);
        try {
            DefaultPrettyPrinter pretty = new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER));                  // "key": value, as Python writes it
            return new ObjectMapper().writer(pretty).writeValueAsString(m) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@code dir/label_map.json} atomically. */
    public void write(Path dir) {
        AtomicFiles.writeString(dir.resolve(FILE), toJson());
    }

    @Override
    public String toString() {
        return id2label.toString();
    }
}
