package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lora4j.model.TaskType;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.nn.Model;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lora4j inspect MODEL_DIR}: family, sizes, parameter count and every module LoRA can target. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Show a Hugging Face model directory (or a BERT-family .onnx file): family, sizes, parameter",
                "count, and every linear module LoRA can target (its PEFT module path, class and shape; the output",
                "head, which all-linear leaves out, is not listed)."})
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL_DIR", description = "Directory with config.json, model.safetensors (or shards) and tokenizer.json.")
    Path modelDir;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** A linear layer LoRA can wrap, under its PEFT module path. */
    record Target(String name, String type, int in, int out) {}

    @Override
    public Integer call() throws Exception {
        Model model = Classifiers.task(null, modelDir, null) == TaskType.SEQ_CLS
                ? ModelLoader.loadEncoder(modelDir) : ModelLoader.load(modelDir);
        List<Target> targets = targets(model);
        var out = spec.commandLine().getOut();
        long params = model.module().parameterCount();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", modelDir.toString());
            o.put("model_type", model.modelType());
            o.put("sizes", model.sizes());
            o.put("parameters", params);
            o.put("default_target_modules", defaultTargets(model));
            o.put("target_modules", targets);
            out.println(new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
            return 0;
        }
        out.printf("model        %s%n", modelDir);
        out.printf("family       %s%n", model.modelType());
        StringBuilder sizes = new StringBuilder();
        model.sizes().forEach((k, v) -> sizes.append(sizes.isEmpty() ? "" : ", ").append(k).append('=').append(v));
        out.printf("sizes        %s%n", sizes);
        out.printf("parameters   %,d (%s)%n", params, human(params));
        out.printf("LoRA targets %d linear modules (PEFT default: %s)%n", targets.size(), String.join(", ", defaultTargets(model)));
        int width = targets.stream().mapToInt(t -> t.name().length()).max().orElse(10);
        for (Target t : targets) {
            out.printf("  %-" + width + "s  %-6s  %6d -> %-6d%n", t.name(), t.type(), t.in(), t.out());
        }
        return 0;
    }

    static List<Target> targets(Model model) {
        List<Target> list = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.module().namedModules().entrySet()) {
            if (e.getValue() instanceof Linear l && !e.getKey().equals(model.outputHead())) {
                list.add(new Target(model.peftPrefix() + e.getKey(), l.kind(), l.inFeatures(), l.outFeatures()));
            }
        }
        return list;
    }

    /** PEFT's default target_modules for the family. */
    static List<String> defaultTargets(Model model) {
        return LoraConfig.defaults(model.modelType()).targetModules() instanceof ModuleSpec.Names n ? n.names() : List.of();
    }

    static String human(long n) {
        if (n >= 1_000_000_000) return String.format("%.2f B", n / 1e9);
        if (n >= 1_000_000) return String.format("%.2f M", n / 1e6);
        if (n >= 1_000) return String.format("%.1f K", n / 1e3);
        return Long.toString(n);
    }
}
