package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.BertSaver;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.train.Checkpoint;
import dev.lora4j.train.MetricsLog;
import dev.lora4j.train.SequenceClassificationTask;
import dev.lora4j.train.TrainConfig;
import dev.lora4j.train.Trainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import me.tongfei.progressbar.ProgressBar;

/**
 * {@code lora4j train --task seq-cls}: LoRA on a BERT-family encoder with the classification head trained in full
 * (PEFT's SEQ_CLS: modules_to_save), on labelled texts. Writes the PEFT adapter with {@code label_map.json} beside
 * it, {@code metrics.jsonl} (eval lines: eval_loss, eval_accuracy, eval_macro_f1) and a resumable checkpoint.
 * {@code --head-only} trains the head alone on the frozen encoder (the frozen-encoder baseline); {@code --full} trains
 * every parameter and writes a Hugging Face model directory (config.json with id2label, model.safetensors, tokenizer).
 */
final class SeqClsTraining {
    private SeqClsTraining() {}

    static int run(TrainCommand c) {
        PrintWriter w = c.spec.commandLine().getOut();
        if (c.full && c.headOnly) throw new Lora4jException("give --full or --head-only, not both");
        if (c.full && (c.targets != null || c.targetsRegex != null)) throw new Lora4jException("--full trains every parameter: drop --targets / --targets-regex");
        LabelledTexts train = LabelledTexts.read(c.data);
        LabelledTexts eval = c.evalData == null ? null : LabelledTexts.read(c.evalData);
        BertConfig base = ModelLoader.encoderConfig(c.modelDir);
        LabelMap labels = labels(base, train);
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(c.modelDir, labels, c.seed);
        BertForSequenceClassification model = loaded.model();
        if (!loaded.newlyInitialised().isEmpty()) w.printf("new (seeded) head parameters: %s%n", String.join(", ", loaded.newlyInitialised()));
        LoraConfig lora = c.full ? null : loraConfig(c, model, loaded.newlyInitialised());
        LoraInjector.Report r = c.full ? null : LoraInjector.apply(model, lora, c.seed);
        if (!c.dryRun) c.storeBaseAs(model, c.full);                 // before --head-only freezes its no-op LoRA layers (kept float32)
        List<Tensor> noOps = c.headOnly ? freezeLora(model) : List.of();
        if (c.full) {
            model.namedParameters().values().forEach(p -> p.requiresGrad(true));
            w.printf("full fine-tuning: %,d trainable parameters (encoder and head)%n", model.parameterCount());
        } else if (c.headOnly) {
            w.printf("head only: encoder frozen, no LoRA; trained in full: %s (the adapter keeps %d rank-1 LoRA layers with lora_B = 0, no-ops)%n",
                    String.join(", ", lora.modulesToSave()), r.targeted().size());
            w.println(headOnlyReport(model).summary());
        } else {
            w.printf("LoRA r=%d alpha=%s on %d modules: %s; trained in full: %s%n", c.rank, fmt(lora.loraAlpha()), r.targeted().size(),
                    String.join(", ", r.targeted()), String.join(", ", lora.modulesToSave()));
            w.println(r.summary());
        }
        w.printf("labels: %s%n", labels);
        if (c.dryRun) return 0;
        int T = c.seqLen != null ? c.seqLen : Math.min(model.config().maxSequenceLength(), 128);
        if (T > model.config().maxSequenceLength()) {
            throw new Lora4jException("--seq-len " + T + " exceeds the model's maximum of " + model.config().maxSequenceLength() + " tokens");
        }
        List<SequenceClassificationTask.Example> trainSet, evalSet = List.of();
        try (EncoderTokenizer tok = EncoderTokenizer.load(c.modelDir, T)) {
            trainSet = SequenceClassificationTask.examples(train, labels, tok);
            if (eval != null) evalSet = SequenceClassificationTask.examples(eval, labels, tok);
        }
        TrainConfig cfg = new TrainConfig(c.lr, c.epochs, c.maxSteps, c.batchSize, c.gradAccum, T, c.warmup, c.schedule(), c.weightDecay,
                c.maxGradNorm, c.seed, c.evalEvery, c.saveEvery);
        Trainer trainer = new Trainer(new SequenceClassificationTask(model, trainSet, evalSet, c.batchSize), cfg);
        try {
            Files.createDirectories(c.out);
        } catch (IOException e) {
            throw new Lora4jException(c.out + ": cannot create: " + e.getMessage(), e);
        }
        LoraConfig saved = c.full ? null : lora.withBaseModel(c.modelDir.toString());
        Consumer<Path> export = c.full ? dir -> BertSaver.writeInto(model, c.modelDir, dir) : dir -> {
            noOps.forEach(p -> p.requiresGrad(true));   // --head-only: AdapterIO writes the trainable tensors; the no-op LoRA layers go too
            try {
                AdapterIO.write(dir, model, saved);
            } finally {
                noOps.forEach(p -> p.requiresGrad(false));
            }
            labels.write(dir);
        };
        int startStep = c.resume ? c.resumedStep() : -1;
        TrainCommand.collectLoadingGarbage();
        w.printf("training %d steps on %,d texts of up to %d tokens (batch %d × accumulation %d)%n",
                trainer.totalSteps(), trainSet.size(), T, c.batchSize, c.gradAccum);
        try (MetricsLog log = MetricsLog.open(c.out.resolve("metrics.jsonl"), startStep);
             ProgressBar bar = Progress.bar("train", trainer.totalSteps(), " steps")) {
            if (startStep > 0) bar.stepTo(startStep);
            TrainingProgress progress = new TrainingProgress(log, bar, w, "examples", m -> String.format(
                    "eval loss %.4f, accuracy %.4f, macro-F1 %.4f", m.get("eval_loss"), m.get("eval_accuracy"), m.get("eval_macro_f1")));
            trainer.run(c.out, c.resume, export, progress);
            LoraInjector.Report counts = c.full ? new LoraInjector.Report(List.of(), model.parameterCount(), model.parameterCount())
                    : c.headOnly ? headOnlyReport(model) : r;
            progress.finish(counts.trainable(), counts.total());
        }
        export.accept(c.out);
        w.printf("wrote the %s to %s (%s, metrics.jsonl, %s/)%n", c.full ? "model" : c.headOnly ? "head (as an adapter)" : "adapter", c.out,
                c.full ? "config.json with the labels" : "label_map.json", Checkpoint.DIR);
        return 0;
    }

    /**
     * The base config's labels when they name every label of the data (a task checkpoint keeps its classes and head
     * rows); otherwise the data's own: integer ids, or the sorted distinct names.
     */
    private static LabelMap labels(BertConfig base, LabelledTexts train) {
        if (base.labels() != null) {
            try {
                train.labelIds(base.labels());
                return base.labels();
            } catch (Lora4jException e) {
                return train.labelMap();
            }
        }
        return train.labelMap();
    }

    private static LoraConfig loraConfig(TrainCommand c, BertForSequenceClassification model, List<String> newlyInitialised) {
        if (c.targets != null && c.targetsRegex != null) throw new Lora4jException("give --targets or --targets-regex, not both");
        if (c.headOnly) {
            if (c.targets != null || c.targetsRegex != null) throw new Lora4jException("--head-only trains no LoRA: drop --targets / --targets-regex");
            return SequenceClassificationTask.loraConfig(model.modelType(), newlyInitialised).withR(1).withAlpha(1);
        }
        LoraConfig l = SequenceClassificationTask.loraConfig(model.modelType(), newlyInitialised).withR(c.rank)
                .withAlpha(c.alpha != null ? c.alpha : 2.0 * c.rank).withDropout(c.dropout).withRslora(c.rslora);
        if (c.targetsRegex != null) return l.withTargets(new ModuleSpec.Regex(c.targetsRegex));
        if (c.targets != null && c.targets.size() == 1 && c.targets.get(0).equalsIgnoreCase(ModuleSpec.ALL_LINEAR)) {
            return l.withTargets(new ModuleSpec.AllLinear());
        }
        return c.targets != null ? l.withTargets(new ModuleSpec.Names(c.targets)) : l;
    }

    /**
     * --head-only: every LoRA layer is made a frozen no-op (lora_B = 0, so ΔW = 0 and the encoder computes exactly the
     * base model), leaving only modules_to_save trainable. The layers stay in the model so that the adapter written
     * loads anywhere a SEQ_CLS adapter does. Returns their weights.
     */
    private static List<Tensor> freezeLora(BertForSequenceClassification model) {
        List<Tensor> out = new ArrayList<>();
        model.namedParameters().forEach((name, p) -> {
            if (name.contains(".lora_A.") || name.contains(".lora_B.")) {
                if (name.contains(".lora_B.")) Arrays.fill(p.data(), 0f);
                p.requiresGrad(false);
                out.add(p);
            }
        });
        return out;
    }

    /** The trainable / total count of the base model plus head, without the no-op LoRA layers. */
    private static LoraInjector.Report headOnlyReport(BertForSequenceClassification model) {
        long trainable = 0, total = 0;
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            if (e.getKey().contains(".lora_")) continue;
            total += e.getValue().size();
            if (e.getValue().requiresGrad()) trainable += e.getValue().size();
        }
        return new LoraInjector.Report(List.of(), trainable, total);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
