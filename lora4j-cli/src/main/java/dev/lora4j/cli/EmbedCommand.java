package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.inference.TextEmbedder;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j embed}: mean-pooled, L2-normalised sentence embeddings (sentence-transformers' mean pooling). */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Sentence embeddings from a BERT-family encoder, as sentence-transformers and langchain4j compute them:",
                "the mean of the last hidden states over the text's tokens, divided by its L2 norm. With --adapter, the",
                "adapter's LoRA layers apply (a SEQ_CLS adapter's encoder part; its classifier is not used)."})
final class EmbedCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory (bert or roberta).")
    Path modelDir;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter to apply (unmerged).")
    Path adapter;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "A text to embed (repeat for several).")
    List<String> texts;

    @Option(names = "--max-length", paramLabel = "N", description = "Truncate each text to N tokens, special tokens included (default: min(512, the model's maximum)).")
    Integer maxLength;

    @Option(names = "--json", description = "Print one JSON object {\"dimensions\", \"embeddings\": [[...], ...]}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        float[][] vectors;
        int dimensions;
        try (TextEmbedder embedder = TextEmbedder.load(modelDir, adapter, maxLength == null ? 0 : maxLength)) {
            vectors = embedder.embed(texts);
            dimensions = embedder.dimensions();
        } catch (Lora4jException e) {
            throw Classifiers.withFlags(e, "--max-length");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("dimensions", dimensions);
            o.put("embeddings", vectors);
            out.println(new ObjectMapper().writeValueAsString(o));
            return 0;
        }
        for (float[] v : vectors) {
            StringBuilder sb = new StringBuilder();
            for (float x : v) sb.append(sb.isEmpty() ? "" : " ").append(x);
            out.println(sb);
        }
        return 0;
    }
}
