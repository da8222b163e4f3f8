// `lora4j generate`: text from a prompt, streamed token by token, as HF's model.generate with a
// TextStreamer (greedy at temperature 0, else sampling with top-k / top-p), on a KV cache.
package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.generate.GenerationConfig;
import dev.lora4j.generate.Generator;
import dev.lora4j.generate.TextStreamer;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prints the prompt, then each new piece of text as soon as its token is chosen, then a newline. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a prompt with a causal LM, streaming the text to stdout as it comes.",
                "Stops after --max-new-tokens or at the model's eos_token_id (from",
                "generation_config.json, else config.json). Temperature 0 is greedy; otherwise",
                "tokens are sampled after temperature, top-k, then top-p filtering (Hugging",
                "Face's order). The same --seed gives the same text."})
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory (with tokenizer.json).")
    Path modelDir;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter, applied unmerged.")
    Path adapter;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "Text to continue.")
    String prompt;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "50", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "Sample among the K most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "Sample among the fewest most likely tokens whose probability reaches P, in (0, 1]; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed for sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (prompt.isEmpty()) throw new Lora4jException("--prompt is empty: give some text to continue");
        GenerationConfig config = new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, null);
        CausalLm model = ModelLoader.load(modelDir);
        if (adapter != null) AdapterIO.load(adapter, model);
        config = config.withEosTokenIds(GenerationConfig.eosTokenIds(modelDir));
        PrintWriter out = spec.commandLine().getOut();
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            int[] ids = tokenizer.encode(prompt);
            Generator.checkFits(model, ids.length, maxNewTokens);    // before anything is printed
            out.print(prompt);
            out.flush();
            TextStreamer streamer = new TextStreamer(tokenizer::decode, text -> {
                out.print(text);
                out.flush();
            });
            long start = System.nanoTime();
            Generator.Result r;
            try {
                r = Generator.generate(model, ids, config, streamer);
                streamer.finish();
            } finally {
                out.println();   // the error (non-finite logits) starts on a line of its own
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            spec.commandLine().getErr().printf("%d tokens in %.2f s (%.1f tokens/s, prompt %d tokens)%s%n", r.tokens().length,
                    seconds, r.tokens().length / seconds, ids.length, r.stoppedAtEos() ? ", stopped at eos" : "");
        }
        return 0;
    }
}
