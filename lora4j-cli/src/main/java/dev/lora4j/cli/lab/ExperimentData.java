package dev.lora4j.cli.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The train / valid / test files of an experiment: a directory's {@code train.jsonl}, {@code valid.jsonl} and
 * {@code test.jsonl}, or one labelled file ({@code .jsonl}, {@code .csv}, {@code .tsv}) split 70 / 15 / 15 % per label
 * with a fixed seed and written as JSONL into the report directory.
 */
record ExperimentData(Path train, Path valid, Path test, String description) {
    private static final String[] SPLITS = {"train", "valid", "test"};
    private static final double[] FRACTIONS = {0.70, 0.15, 0.15};

    /** The split of {@code data} (a directory or a file); a file's is written into {@code dir} (same bytes every time). */
    static ExperimentData of(Path data, Path dir, long seed) throws IOException {
        if (Files.isDirectory(data)) {
            for (String f : SPLITS) {
                Path p = data.resolve(f + ".jsonl");
                if (!Files.isRegularFile(p)) throw new Lora4jException(p + ": not found (--data: a directory needs train.jsonl, valid.jsonl and test.jsonl)");
            }
            return new ExperimentData(data.resolve("train.jsonl"), data.resolve("valid.jsonl"), data.resolve("test.jsonl"), "the split in " + data);
        }
        if (!Files.isRegularFile(data)) throw new Lora4jException(data + ": not found (--data: a directory with train/valid/test.jsonl, or one labelled file)");
        LabelledTexts texts = LabelledTexts.read(data);
        texts.labelMap();                                             // at least two labels, class ids in range
        Map<String, List<LabelledTexts.Example>> byLabel = new TreeMap<>();
        for (LabelledTexts.Example e : texts.examples()) byLabel.computeIfAbsent(e.label(), k -> new ArrayList<>()).add(e);
        Random random = new Random(seed);
        List<List<LabelledTexts.Example>> splits = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (List<LabelledTexts.Example> pool : byLabel.values()) {
            Collections.shuffle(pool, random);
            int start = 0;
            double at = 0;
            for (int s = 0; s < SPLITS.length; s++) {
                at += FRACTIONS[s];
                int end = s == SPLITS.length - 1 ? pool.size() : (int) Math.round(at * pool.size());
                splits.get(s).addAll(pool.subList(start, end));
                start = end;
            }
        }
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        Path[] files = new Path[SPLITS.length];
        for (int s = 0; s < SPLITS.length; s++) {
            List<LabelledTexts.Example> split = splits.get(s);
            if (split.isEmpty()) throw new Lora4jException(data + ": " + texts.size() + " examples leave the " + SPLITS[s] + " split empty (70/15/15 % per label)");
            Collections.shuffle(split, random);
            StringBuilder lines = new StringBuilder();
            for (LabelledTexts.Example e : split) {
                ObjectNode line = json.createObjectNode().put("text", e.text()).put("label", e.label());
                lines.append(json.writeValueAsString(line)).append('\n');
            }
            files[s] = dir.resolve(SPLITS[s] + ".jsonl");
            AtomicFiles.writeString(files[s], lines.toString());
        }
        String description = String.format("%s (%,d texts) split 70/15/15 %% per label with seed %d: %,d train, %,d valid, %,d test, written to %s",
                data, texts.size(), seed, splits.get(0).size(), splits.get(1).size(), splits.get(2).size(), dir);
        return new ExperimentData(files[0], files[1], files[2], description);
    }
}
