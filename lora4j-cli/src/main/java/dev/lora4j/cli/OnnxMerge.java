package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.MergedOnnx;
import dev.lora4j.nn.Model;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertOnnx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code lora4j merge} on an ONNX base (a BERT-family export such as all-MiniLM-L6-v2's): the adapter is merged into
 * the encoder and the merged weights are written into a copy of the same graph, so an application running that
 * ONNX file gets the fine-tuned encoder as a drop-in file. {@code --out} is the .onnx file to write, or a directory
 * that receives it under the base's file name, with the base's tokenizer.json beside it; either appears whole, and
 * never replaces a file or directory that lora4j did not write.
 */
final class OnnxMerge {
    private OnnxMerge() {}

    static int run(MergeCommand c, Path onnx) {
        boolean toFile = c.out.getFileName().toString().endsWith(".onnx");
        List<Path> inputs = List.of(c.modelDir, c.adapter, onnx);
        try (Output output = toFile ? Output.file(c.out, Output.Kind.MODEL, c.mode(), inputs)
                : Output.directory(c.out, Output.Kind.MODEL, c.mode(), inputs)) {
            Model model;
            if (Classifiers.isSeqClsAdapter(c.adapter)) {
                model = Classifiers.load(c.modelDir, c.adapter);
            } else {
                model = ModelLoader.loadEncoder(c.modelDir);
                AdapterIO.load(c.adapter, model);
            }
            List<String> merged = c.merge(model);
            Path staging = output.stage();
            Path file = toFile ? staging : staging.resolve(onnx.getFileName());
            Path tokenizer = onnx.toAbsolutePath().getParent().resolve("tokenizer.json");
            if (!toFile && Files.isRegularFile(tokenizer)) {
                try {
                    Files.copy(tokenizer, staging.resolve("tokenizer.json"));
                } catch (IOException e) {
                    throw new Lora4jException(staging.resolve("tokenizer.json") + ": cannot write: " + e.getMessage(), e);
                }
            }
            List<String> written = MergedOnnx.write(onnx, model, file);
            output.commit(staging);
            var w = c.spec.commandLine().getOut();
            w.printf("merged %d LoRA modules (%s) into %s (the graph of %s, %d weights written)%n", merged.size(),
                    String.join(", ", merged), toFile ? c.out : c.out.resolve(onnx.getFileName()), onnx, written.size());
            if (model instanceof BertForSequenceClassification) {
                w.println("note: the classification head is not part of the ONNX graph; the file holds the fine-tuned encoder");
            }
        }
        return 0;
    }
}
