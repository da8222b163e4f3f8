package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.Output;
import dev.lora4j.io.gguf.GgmlType;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.GgufAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.Merger;
import dev.lora4j.model.GgufExport;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j to-gguf}: a model (merged with an adapter, or not) or a LoRA adapter alone as a GGUF file for llama.cpp and Ollama. */
@Command(name = "to-gguf", mixinStandardHelpOptions = true,
        description = {"Write a GGUF file that llama.cpp and Ollama load: the whole model (with --adapter merged into it),",
                "its vocabulary and chat template included; or, with --lora-only, the adapter alone as llama.cpp's",
                "convert_lora_to_gguf.py writes it (llama.cpp --lora FILE, Ollama's Modelfile ADAPTER FILE)."})
final class ToGgufCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "Base model: a Hugging Face directory or a .gguf file (llama, mistral, qwen2).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter directory: merged into the model, or written alone with --lora-only.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "F.gguf", description = "The GGUF file to write (never an input; replaced only with --overwrite).")
    Path out;

    @Option(names = "--lora-only", description = "Write only the adapter (F32 lora_a / lora_b tensors), to apply on the base at run time.")
    boolean loraOnly;

    @Option(names = "--outtype", defaultValue = "f32", paramLabel = "T",
            description = "Type of the model's matrices: f32, f16, bf16 or q8_0 (default: ${DEFAULT-VALUE}; norms and biases are always f32).")
    String outType;

    @Option(names = "--overwrite", description = "Replace a GGUF file that a previous to-gguf wrote to --out (never other files).")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        GgmlType type = switch (outType.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            case "bf16" -> GgmlType.BF16;
            case "q8_0" -> GgmlType.Q8_0;
            default -> throw new Lora4jException("--outtype '" + outType + "' is not one of f32, f16, bf16, q8_0");
        };
        if (loraOnly && adapter == null) throw new Lora4jException("--lora-only writes an adapter: give it with --adapter");
        if (!out.getFileName().toString().endsWith(".gguf")) throw new Lora4jException(out + ": --out must name a .gguf file");
        List<Path> inputs = new ArrayList<>(List.of(model));
        if (adapter != null) inputs.add(adapter);
        Output.Kind kind = loraOnly ? Output.Kind.ADAPTER : Output.Kind.MODEL;
        try (Output output = Output.file(out, kind, overwrite ? Output.Mode.OVERWRITE : Output.Mode.NEW, inputs)) {
            CausalLm lm = ModelLoader.load(model);
            List<String> merged = List.of();
            Path staging = output.stage();
            if (adapter != null) {
                AdapterIO.load(adapter, lm);
                LoraConfig config = LoraConfig.read(adapter.resolve(AdapterIO.CONFIG_FILE));
                if (loraOnly) GgufAdapter.write(staging, lm, config);
                else merged = Merger.merge(lm);
            }
            if (!loraOnly) GgufExport.write(staging, lm, model, type);
            output.commit(staging);
            var w = spec.commandLine().getOut();
            if (loraOnly) w.printf("wrote the LoRA adapter %s as %s (llama.cpp: --lora %s; Ollama: ADAPTER %s)%n", adapter, out, out, out);
            else w.printf("wrote %s (%s%s)%n", out, type, merged.isEmpty() ? "" : ", " + merged.size() + " LoRA modules merged");
        }
        return 0;
    }
}
