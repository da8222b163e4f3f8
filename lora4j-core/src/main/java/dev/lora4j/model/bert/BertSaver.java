package dev.lora4j.model.bert;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a (fully fine-tuned) sequence classifier as a Hugging Face directory that {@code ModelLoader} and
 * transformers' {@code AutoModelForSequenceClassification} read: {@code config.json} with id2label,
 * {@code model.safetensors} under HF's keys ({@code bert.encoder.layer.0...}, {@code classifier.weight}; F32), and the
 * tokenizer files of the base.
 */
public final class BertSaver {
    /** The tokenizer files copied from the base's directory when present. */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt");

    private BertSaver() {}

    /**
     * Writes {@code model}'s files into the existing directory {@code dir} (beside a training run's metrics and checkpoint),
     * each file atomically, with the tokenizer files of {@code base}: a directory, or the directory holding a base file
     * (an {@code .onnx} export, whose tokenizer.json is beside it).
     */
    public static void writeInto(BertForSequenceClassification model, Path base, Path dir) {
        Path tokenizerDir = Files.isRegularFile(base) ? base.toAbsolutePath().getParent() : base;
        for (String name : model.namedParameters().keySet()) {
            if (name.contains(".lora_")) throw new Lora4jException("cannot save '" + name + "' as a plain model: merge the adapter first");
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), new LinkedHashMap<>(model.namedParameters()), Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve("config.json"), model.config().toConfigJson());
        for (String f : TOKENIZER_FILES) {
            if (!Files.isRegularFile(tokenizerDir.resolve(f))) continue;
            Path tmp = dir.resolve("." + f + ".tmp");
            try {
                Files.copy(tokenizerDir.resolve(f), tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new Lora4jException(dir.resolve(f) + ": cannot write: " + e.getMessage(), e);
            }
        }
    }
}
