package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.model.TaskType;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.Documents;
import dev.lora4j.data.Sequence;
import dev.lora4j.data.Window;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j eval}: mean next-token loss and perplexity of a model over a text or JSONL file. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Mean token loss and perplexity of a causal LM over a data file.",
                "Data: .txt (tokenized, packed into --seq-len windows) or .jsonl with {\"text\": ...} or",
                "{\"input_ids\": [...]} per line (each line its own document)."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--task", paramLabel = "TASK", description = {"causal-lm or seq-cls (default: seq-cls for a bert / roberta model or a",
            "SEQ_CLS adapter). seq-cls: accuracy, macro-F1 and the confusion matrix over labelled texts (.jsonl, .csv, .tsv)."})
    String task;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory.")
    Path modelDir;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter to apply (unmerged) before evaluating.")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = ".txt or .jsonl file.")
    Path data;

    @Option(names = "--seq-len", paramLabel = "T", description = "Window length in tokens (default: the model's context, at most 1024).")
    Integer seqLen;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "4", description = "Windows per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--json", description = "Print one JSON object {\"loss\", \"perplexity\", \"tokens\"}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1) throw new Lora4jException("--batch-size must be at least 1, got " + batchSize);
        if (Classifiers.task(task, modelDir, adapter) == TaskType.SEQ_CLS) return SeqClsEval.run(this);
        CausalLm model = ModelLoader.load(modelDir);
        if (adapter != null) AdapterIO.load(adapter, model);
        int T = seqLen != null ? seqLen : Math.min(model.maxPositions(), 1024);
        if (T < 1 || T > model.maxPositions()) {
            throw new Lora4jException("--seq-len " + T + " is outside [1, " + model.maxPositions() + "] (the model's n_positions)");
        }
        List<Sequence> docs;
        if (Tokenizer.available(modelDir)) {
            try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
                docs = Documents.load(data, tokenizer, model.vocabSize());
            }
        } else {
            docs = Documents.load(data, null, model.vocabSize());
        }
        List<Window> windows = Window.pack(docs, T);
        if (windows.isEmpty()) throw new Lora4jException(data + ": no token to predict (each document needs at least two tokens)");
        long total = windows.stream().mapToLong(Window::length).sum();
        long start = System.nanoTime();
        Evaluator.Result r;
        try (ProgressBar bar = Progress.bar("eval", total, " tok")) {
            r = Evaluator.evaluate(model, windows, batchSize, bar::stepBy);
        }
        if (!Double.isFinite(r.loss())) throw nonFiniteLoss(r.loss(), data);
        double seconds = (System.nanoTime() - start) / 1e9;
        var out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("loss", r.loss());
            o.put("perplexity", r.perplexity());
            o.put("tokens", r.tokens());
            out.println(new ObjectMapper().writeValueAsString(o));
        } else {
            out.printf("loss %.4f  perplexity %.2f  tokens %,d  (%.1f s, %.0f tokens/s)%n",
                    r.loss(), r.perplexity(), r.tokens(), seconds, r.tokens() / seconds);
        }
        return 0;
    }

    /** A NaN or infinite mean loss is no measurement: the model overflowed somewhere, which a number would hide. */
    static Lora4jException nonFiniteLoss(double loss, Path data) {
        return new Lora4jException("the loss over " + data + " is " + loss + ": the model (with its adapter, if any) computes"
                + " non-finite values, e.g. from weights that overflow float32");
    }
}
