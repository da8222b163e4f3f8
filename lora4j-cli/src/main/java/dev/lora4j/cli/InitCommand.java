package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.Output;
import dev.lora4j.model.ModelFamily;
import dev.lora4j.model.TaskType;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j init}: a new causal LM with random weights from a config.json, written as a Hugging Face directory
 * that {@code train --full} can pretrain (how the project makes its own small base models without a hub).
 */
@Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a randomly initialised causal LM (GPT-2 or Llama family) for a config.json as a Hugging Face",
                "directory (config.json, model.safetensors, tokenizer files), to pretrain with train --full.",
                "Init: every matrix and embedding N(0, 0.02), norm weights 1, biases 0 (as bench train)."})
final class InitCommand implements Callable<Integer> {
    /** The tokenizer files copied from --tokenizer when present. */
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "vocab.json", "merges.txt", "generation_config.json");

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The model's config.json (model_type gpt2, llama, mistral or qwen2).")
    Path config;
    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Directory whose tokenizer files are copied beside the weights.")
    Path tokenizer;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The new model directory.")
    Path out;
    @Option(names = "--overwrite", description = "Replace a model that a previous init or merge wrote to --out (never other files).")
    boolean overwrite;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the random weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        HfConfig c = HfConfig.read(config);
        ModelFamily family = ModelFamily.of(c);
        if (!family.supports(TaskType.CAUSAL_LM)) {
            throw new Lora4jException(config + ": model_type '" + c.modelType() + "' cannot be initialised (" + String.join(", ",
                    ModelFamily.ALL.stream().filter(f -> f.supports(TaskType.CAUSAL_LM)).flatMap(f -> f.modelTypes().stream()).toList()) + ")");
        }
        if (tokenizer != null && !Files.isRegularFile(tokenizer.resolve("tokenizer.json"))) {
            throw new Lora4jException(tokenizer.resolve("tokenizer.json") + ": not found (--tokenizer names a directory with tokenizer.json)");
        }
        List<Path> inputs = new ArrayList<>(List.of(config));
        if (tokenizer != null) inputs.add(tokenizer);
        long parameters;
        try (Output output = Output.directory(out, Output.Kind.MODEL, overwrite ? Output.Mode.OVERWRITE : Output.Mode.NEW, inputs)) {
            CausalLm model = family.randomCausalLm(c, seed);
            parameters = model.module().parameterCount();
            Path staging = output.stage();
            SafetensorsWriter.write(staging.resolve("model.safetensors"), new LinkedHashMap<>(model.module().namedParameters()), Map.of("format", "pt"));
            Files.copy(config, staging.resolve("config.json"));
            if (tokenizer != null) {
                for (String f : TOKENIZER_FILES) {
                    if (Files.isRegularFile(tokenizer.resolve(f))) Files.copy(tokenizer.resolve(f), staging.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            output.commit(staging);
        }
        spec.commandLine().getOut().printf("wrote a random %s model (%,d parameters, seed %d) to %s%n", c.modelType(), parameters, seed, out);
        return 0;
    }
}
