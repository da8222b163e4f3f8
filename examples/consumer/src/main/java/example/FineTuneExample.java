package example;

import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.inference.TextGenerator;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Method;
import dev.lora4j.train.TrainConfig;
import java.nio.file.Path;

/**
 * Fine-tunes a causal LM with LoRA through lora4j's public API, saves the adapter, loads it back and generates:
 * {@code java example.FineTuneExample MODEL_DIR TEXT_FILE OUT_DIR}.
 */
public final class FineTuneExample {
    private FineTuneExample() {}

    /** Trains {@code steps} steps into {@code out} and returns the adapter's greedy continuation of {@code prompt}. */
    public static String run(Path model, Path text, Path out, int steps, String prompt) {
        FineTune.Result run = FineTune.builder()
                .model(model)
                .data(text)
                .output(out)
                .method(Method.lora(LoraConfig.peftDefaults().withR(4).withAlpha(8)))
                .config(TrainConfig.builder().lr(1e-2f).maxSteps(steps).seqLen(32).build())
                .build()
                .run();
        try (TextGenerator generator = TextGenerator.load(model, run.output())) {
            return generator.generate(prompt, GenerationConfig.greedy(12));
        }
    }

    public static void main(String[] args) {
        System.out.println(run(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]), 4, "Call me Ishmael."));
    }
}
