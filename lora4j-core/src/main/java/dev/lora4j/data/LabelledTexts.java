package dev.lora4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Texts with class labels for sequence classification: {@code .jsonl}, one {@code {"text": ..., "label": ...}}
 * per line (label a string or an integer), or {@code .csv} / {@code .tsv} with a header row naming a {@code text}
 * and a {@code label} column (RFC 4180 quoting: fields in double quotes may hold the delimiter, newlines and
 * {@code ""}). Integer labels are class ids; string labels are names. Errors name the file and line.
 * Integer class ids must be dense-ish, since each id up to the largest becomes a class: the largest must be below
 * {@link LabelMap#MAX_LABELS} and below 10 × the number of examples; ids without examples get a warning.
 */
public final class LabelledTexts {
    /** One example; {@code line} is where its record starts in the file (1-based). */
    public record Example(String text, String label, int line) {}

    private static final Logger LOG = LoggerFactory.getLogger(LabelledTexts.class);
    private static final Pattern CLASS_ID = Pattern.compile("0|[1-9][0-9]{0,8}");

    private final Path file;
    private final List<Example> examples;

    private LabelledTexts(Path file, List<Example> examples) {
        this.file = file;
        this.examples = List.copyOf(examples);
    }

    public static LabelledTexts read(Path file) {
        InputFile.requireRegular(file, "a data file");
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String content = Utf8Lines.readString(file);
        if (content.startsWith("\uFEFF")) content = content.substring(1);
        List<Example> examples;
        if (name.endsWith(".jsonl")) examples = jsonl(file, content);
        else if (name.endsWith(".csv")) examples = delimited(file, content, ',');
        else if (name.endsWith(".tsv")) examples = delimited(file, content, '\t');
        else throw new Lora4jException(file + ": unsupported labelled data file type (expected .jsonl, .csv or .tsv)");
        if (examples.isEmpty()) throw new Lora4jException(file + ": no examples");
        return new LabelledTexts(file, examples);
    }

    public Path file() {
        return file;
    }

    public List<Example> examples() {
        return examples;
    }

    public int size() {
        return examples.size();
    }

    /**
     * The labels a classifier trained on this data gets: class ids 0..max named "0", "1", ... when every label is an
     * integer, otherwise the distinct names in sorted order. Data with a single label is refused (a one-class classifier
     * is meaningless), as is an integer id at or above {@code min(10000, 10 × examples)}; ids below the largest that no
     * example has are logged as a warning, since each still becomes a class.
     */
    public LabelMap labelMap() {
        TreeSet<String> distinct = new TreeSet<>(examples.stream().map(Example::label).toList());
        if (distinct.size() < 2) {
            throw new Lora4jException(file + ": every example has the label \"" + distinct.first()
                    + "\": a classifier needs examples of at least two classes");
        }
        if (!examples.stream().allMatch(e -> CLASS_ID.matcher(e.label()).matches())) return new LabelMap(new ArrayList<>(distinct));
        Example top = examples.stream().max(Comparator.comparingInt(e -> Integer.parseInt(e.label()))).orElseThrow();
        int max = Integer.parseInt(top.label()), limit = (int) Math.min(LabelMap.MAX_LABELS, 10L * examples.size());
        if (max >= limit) {
            throw new Lora4jException(file + ":" + top.line() + ": label " + max + " is a class id, so it asks for " + (max + 1L)
                    + " classes; with " + examples.size() + " examples integer labels must be below " + limit + " (at most "
                    + LabelMap.MAX_LABELS + " classes, and at most 10 per example); give labels as names (strings) if the ids are not 0, 1, 2, ...");
        }
        boolean[] seen = new boolean[max + 1];
        examples.forEach(e -> seen[Integer.parseInt(e.label())] = true);
        List<String> names = new ArrayList<>(), missing = new ArrayList<>();
        for (int i = 0; i <= max; i++) {
            names.add(Integer.toString(i));
            if (!seen[i]) missing.add(Integer.toString(i));
        }
        if (!missing.isEmpty()) {
            LOG.warn("{}: integer labels are class ids 0..{}, but no example has {} {}: the classifier still gets {} (give labels as names"
                    + " if the ids are not meant as 0, 1, 2, ...)", file, max, missing.size() == 1 ? "id" : "ids",
                    missing.size() <= 10 ? String.join(", ", missing) : String.join(", ", missing.subList(0, 10)) + ", ... " + (missing.size() - 10) + " more",
                    missing.size() == 1 ? "a class for it" : "a class for each");
        }
        return new LabelMap(names);
    }

    /** Each example's class id under {@code labels}: by name, else an integer label as the id itself. */
    public int[] labelIds(LabelMap labels) {
        int[] ids = new int[examples.size()];
        for (int i = 0; i < ids.length; i++) {
            Example e = examples.get(i);
            int id = labels.id(e.label());
            if (id < 0 && CLASS_ID.matcher(e.label()).matches() && Integer.parseInt(e.label()) < labels.size()) id = Integer.parseInt(e.label());
            if (id < 0) throw new Lora4jException(file + ":" + e.line() + ": label \"" + e.label() + "\" is not one of the model's labels " + labels);
            ids[i] = id;
        }
        return ids;
    }

    private static List<Example> jsonl(Path file, String content) {
        List<Example> out = new ArrayList<>();
        String[] lines = content.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) continue;
            String where = file + ":" + (i + 1);
            JsonNode node = Json.parseLine(lines[i], where);
            if (node == null || !node.isObject() || !node.path("text").isTextual()) {
                throw new Lora4jException(where + ": expected an object with \"text\" (a string) and \"label\" (a string or an integer)");
            }
            JsonNode label = node.get("label");
            String value;
            if (label != null && label.isTextual() && !label.textValue().isBlank()) value = label.textValue();
            else if (label != null && label.isIntegralNumber() && label.canConvertToInt() && label.intValue() >= 0) value = Integer.toString(label.intValue());
            else throw new Lora4jException(where + ": \"label\" is " + (label == null ? "missing" : label.toString()) + ", expected a non-empty string or an integer ≥ 0");
            out.add(new Example(node.get("text").textValue(), value, i + 1));
        }
        return out;
    }

    /** CSV / TSV with a header; quoted fields as RFC 4180. */
    private static List<Example> delimited(Path file, String content, char sep) {
        List<List<String>> records = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        List<String> record = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int line = 1, start = 1, quotedFrom = 0;
        boolean quoted = false, wasQuoted = false;
        for (int i = 0; i < content.length(); i++) {
            char ch = content.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < content.length() && content.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    if (ch == '\n') line++;
                    field.append(ch);
                }
            } else if (ch == '"' && field.isEmpty() && !wasQuoted) {
                quoted = wasQuoted = true;
                quotedFrom = line;
            } else if (ch == sep) {
                record.add(field.toString());
                field.setLength(0);
                wasQuoted = false;
            } else if (ch == '\n' || ch == '\r') {
                if (ch == '\r' && i + 1 < content.length() && content.charAt(i + 1) == '\n') i++;
                record.add(field.toString());
                if (!(record.size() == 1 && record.get(0).isEmpty() && !wasQuoted)) {
                    records.add(record);
                    starts.add(start);
                }
                record = new ArrayList<>();
                field.setLength(0);
                wasQuoted = false;
                start = ++line;
            } else if (wasQuoted) {
                throw new Lora4jException(file + ":" + line + ": unexpected character after a closing quote");
            } else {
                field.append(ch);
            }
        }
        if (quoted) throw new Lora4jException(file + ":" + quotedFrom + ": a quoted field is not closed");
        if (!field.isEmpty() || !record.isEmpty() || wasQuoted) {
            record.add(field.toString());
            records.add(record);
            starts.add(start);
        }
        if (records.isEmpty()) throw new Lora4jException(file + ": empty (expected a header row with text and label columns)");
        List<String> header = records.get(0).stream().map(String::strip).toList();
        int text = header.indexOf("text"), label = header.indexOf("label");
        if (text < 0 || label < 0) {
            throw new Lora4jException(file + ":" + starts.get(0) + ": the header " + header + " has no \"text\" and \"label\" columns");
        }
        List<Example> out = new ArrayList<>();
        for (int r = 1; r < records.size(); r++) {
            List<String> rec = records.get(r);
            if (rec.size() != header.size()) {
                throw new Lora4jException(file + ":" + starts.get(r) + ": expected " + header.size() + " fields as in the header "
                        + header + ", found " + rec.size());
            }
            String value = rec.get(label).strip();
            if (value.isEmpty()) throw new Lora4jException(file + ":" + starts.get(r) + ": the label is empty");
            out.add(new Example(rec.get(text), value, starts.get(r)));
        }
        return out;
    }
}
