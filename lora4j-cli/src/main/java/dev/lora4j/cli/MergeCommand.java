package dev.lora4j.cli;

import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.Merger;
import dev.lora4j.model.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
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
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model directory, or a BERT-family .onnx file.")
    Path modelDir;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter directory.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = {"Where to write the merged model (replaced if it exists);",
            "for an ONNX base, the .onnx file to write or a directory for it."})
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Path onnx = BertOnnx.onnxFile(modelDir);
        if (onnx != null) return OnnxMerge.run(this, onnx);
        CausalLm model = ModelLoader.load(modelDir);
        LoraInjector.Report report = AdapterIO.load(adapter, model);
        List<String> merged = Merger.merge(model);
        ModelSaver.save(modelDir, model, out);
        spec.commandLine().getOut().printf("merged %d LoRA modules (%s) into %s%n", merged.size(), String.join(", ", report.targeted()), out);
        return 0;
    }
}
