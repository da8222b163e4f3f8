package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.Merger;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Model;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.GgufToHf;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.model.bert.BertOnnx;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j merge}: folds a LoRA adapter into the base weights and writes a plain Hugging Face model. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Merge a PEFT LoRA adapter into its base model (W += scale·B·A) and write a Hugging Face model",
                "directory with the base's keys, dtypes and file layout (config and tokenizer copied). The result",
                "loads as a plain model and runs at the base model's speed."})
final class MergeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = {"Base model directory, a BERT-family .onnx file, or a .gguf file",
            "(written as a Hugging Face directory: float32 weights, config, tokenizer and chat template from the GGUF metadata)."})
    Path modelDir;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter directory.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = {"Where to write the merged model: a new or empty directory",
            "(never the base, the adapter, or a directory around them); for an ONNX base, the .onnx file to write or a directory for it."})
    Path out;

    @Option(names = "--overwrite", description = "Replace a model that a previous merge or init wrote to --out (never other files).")
    boolean overwrite;

    @Option(names = "--allow-large-update", description = {"Merge even when an update is more than " + (int) Merger.MAX_RELATIVE_UPDATE
            + " times the size of its base weight", "(such an adapter has normally diverged)."})
    boolean allowLargeUpdate;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Path onnx = BertOnnx.onnxFile(modelDir);
        if (onnx != null) return OnnxMerge.run(this, onnx);
        try (Output output = Output.directory(out, Output.Kind.MODEL, mode(), List.of(modelDir, adapter))) {
            CausalLm model = ModelLoader.load(modelDir);
            LoraInjector.Report report = AdapterIO.load(adapter, model);
            List<String> merged = merge(model);
            List<String> skipped = List.of();
            if (GgufFile.isGguf(modelDir)) GgufToHf.save(modelDir, model, output);
            else skipped = ModelSaver.save(modelDir, model, output);
            var w = spec.commandLine().getOut();
            w.printf("merged %d LoRA modules (%s) into %s%n", merged.size(), String.join(", ", report.targeted()), out);
            if (!skipped.isEmpty()) w.printf("not copied (links that lead out of the model directory): %s%n", String.join(", ", skipped));
        }
        return 0;
    }

    Output.Mode mode() {
        return overwrite ? Output.Mode.OVERWRITE : Output.Mode.NEW;
    }

    /** Merges with the CLI's flag named in the error for an update too large. */
    List<String> merge(Model model) {
        try {
            return Merger.merge(model, allowLargeUpdate);
        } catch (Lora4jException e) {
            throw new Lora4jException(e.getMessage().replace("(allow large updates to merge it anyway)", "(--allow-large-update merges it anyway)"), e);
        }
    }
}
