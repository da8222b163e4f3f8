package dev.lora4j.train;

import dev.lora4j.model.TaskType;
import dev.lora4j.Lora4jException;
import dev.lora4j.data.Documents;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.data.Window;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Model;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.model.ModelSaver;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.bert.BertForSequenceClassification;
import dev.lora4j.model.bert.BertLoader;
import dev.lora4j.model.bert.BertSaver;
import dev.lora4j.model.bert.EncoderTokenizer;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.WeightHolding;
import dev.lora4j.tensor.CompactFormat;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One fine-tuning run made ready: the base loaded for its task, the method applied (LoRA injected, everything
 * trainable, or the head alone), the frozen base stored as asked, the data tokenized, and the exporter that writes the
 * usable result (PEFT adapter, or whole model) into a directory. {@link FineTune} drives it.
 */
final class PreparedRun {
    final FineTune.Plan plan;
    final Model model;
    final LoraConfig savedConfig;            // the adapter_config.json written (null for full fine-tuning)
    private final List<Tensor> noOps;        // head-only's rank-1 LoRA weights, frozen once the base is stored
    TrainingTask task;
    int examples;
    long bf16Values;                         // frozen values stored as bfloat16

    private PreparedRun(FineTune.Plan plan, Model model, LoraConfig savedConfig, List<Tensor> noOps) {
        this.plan = plan;
        this.model = model;
        this.savedConfig = savedConfig;
        this.noOps = noOps;
    }

    /**
     * Loads the base and applies the method; with {@code data}, also stores the base as asked and tokenizes the data. A
     * compact base dtype is applied while loading to every matrix the method leaves frozen and LoRA's initialisation
     * does not read ({@link LoraInjector#float32Parameters}); the rest, still float32, is converted after injection.
     */
    static PreparedRun prepare(FineTune f, boolean data) {
        if (data && f.baseDtype() != BaseDtype.F32 && f.method() instanceof Method.Full) {
            throw new Lora4jException("a " + f.baseDtype() + " base stores frozen weights; full fine-tuning freezes none");
        }
        PreparedRun r = f.task() == TaskType.SEQ_CLS ? classifier(f, data) : causalLm(f, data);
        if (!data) return r;
        CompactFormat format = f.baseDtype().format();
        if (format != null) {
            r.model.module().holdFrozenMatrices(format);
            if (format == CompactFormat.BF16) {
                r.bf16Values = r.model.module().namedParameters().values().stream()
                        .filter(p -> !p.requiresGrad() && p.storage() instanceof WeightStorage.Bf16).mapToLong(Tensor::size).sum();
            }
        }
        if (!r.noOps.isEmpty()) r.noOps.forEach(p -> p.requiresGrad(false));   // after bf16: the no-op layers stay float32
        f.preparedModel().accept(r.model.module());
        r.loadData(f);
        return r;
    }

    private static PreparedRun causalLm(FineTune f, boolean data) {
        if (f.method() instanceof Method.HeadOnly) throw new Lora4jException("head-only training is for sequence classification (a causal LM has no classification head)");
        CausalLm model = ModelLoader.load(f.model(), holding(f, data,
                modelType -> f.method() instanceof Method.Lora(LoraConfig c) ? c.withDefaultTargets(modelType) : null));
        int T = seqLen(f, model.maxPositions(), "n_positions");
        LoraConfig lora = null;
        LoraInjector.Report report;
        if (f.method() instanceof Method.Lora(LoraConfig c)) {
            lora = c.withDefaultTargets(model.modelType());
            if (lora.taskType() == null) lora = lora.withTaskType(TaskType.CAUSAL_LM.peftName());
            report = LoraInjector.apply(model, structureOnly(lora, data), f.config().seed());
        } else {
            model.module().namedParameters().values().forEach(p -> p.toFloat32().requiresGrad(true));   // a quantized GGUF base is widened
            long n = model.module().parameterCount();
            report = new LoraInjector.Report(List.of(), n, n);
        }
        FineTune.Plan plan = new FineTune.Plan(TaskType.CAUSAL_LM, f.method(), model.modelType(), lora, report, List.of(), null, T);
        return new PreparedRun(plan, model, lora == null ? null : lora.withBaseModel(f.model().toString()), List.of());
    }

    private static PreparedRun classifier(FineTune f, boolean data) {
        LabelledTexts train = LabelledTexts.read(f.data());
        BertConfig base = ModelLoader.encoderConfig(f.model());
        LabelMap labels = labels(base, train);
        // loaded as if the pooler were new (only loading tells): it stays float32 then, converted after injection if frozen
        BertLoader.Loaded<BertForSequenceClassification> loaded = ModelLoader.loadSequenceClassifier(f.model(), labels, f.config().seed(),
                holding(f, data, modelType -> classifierLora(f, modelType, List.of("pooler."))));
        BertForSequenceClassification model = loaded.model();
        int T = seqLen(f, model.config().maxSequenceLength(), "max_position_embeddings");
        LoraConfig lora = classifierLora(f, model.modelType(), loaded.newlyInitialised());
        List<Tensor> noOps = List.of();
        LoraInjector.Report report;
        if (lora == null) {
            model.namedParameters().values().forEach(p -> p.requiresGrad(true));
            report = new LoraInjector.Report(List.of(), model.parameterCount(), model.parameterCount());
        } else {
            LoraInjector.Report injected = LoraInjector.apply(model, structureOnly(lora, data), f.config().seed());
            if (f.method() instanceof Method.HeadOnly) {
                noOps = zeroLora(model);
                report = new LoraInjector.Report(injected.targeted(), count(model, true), count(model, false));
            } else {
                report = injected;
            }
        }
        FineTune.Plan plan = new FineTune.Plan(TaskType.SEQ_CLS, f.method(), model.modelType(), lora, report, loaded.newlyInitialised(), labels, T);
        return new PreparedRun(plan, model, lora == null ? null : lora.withBaseModel(f.model().toString()), noOps);
    }

    /** The LoRA config of a classifier run (null for full fine-tuning); {@code newlyInitialised} adds a new pooler to modules_to_save. */
    private static LoraConfig classifierLora(FineTune f, String modelType, List<String> newlyInitialised) {
        LoraConfig seqCls = SequenceClassificationTask.loraConfig(modelType, newlyInitialised);
        return switch (f.method()) {
            case Method.Lora(LoraConfig c) -> c.withTaskType(TaskType.SEQ_CLS.peftName()).withModulesToSave(seqCls.modulesToSave())
                    .withDefaultTargets(modelType);
            case Method.HeadOnly h -> seqCls.withR(1).withAlpha(1);
            case Method.Full full -> null;
        };
    }

    /**
     * How the base is loaded: with data and a compact base dtype, every frozen matrix straight into its format, except
     * those the LoRA config {@code injected} gives for the model type (null: no LoRA) trains or whose float32 values
     * its initialisation reads; they stay float32 until after injection. A plan (no data) loads float32.
     */
    private static WeightHolding holding(FineTune f, boolean data, Function<String, LoraConfig> injected) {
        CompactFormat format = f.baseDtype().format();
        if (!data || format == null) return WeightHolding.FLOAT32;
        return model -> {
            LoraConfig lora = injected.apply(model.modelType());
            Set<String> float32 = lora == null ? Set.of() : LoraInjector.float32Parameters(model, lora);
            return name -> float32.contains(name) ? null : format;
        };
    }

    /** Without data (a plan) only the modules and counts matter: PiSSA's SVDs, which take seconds per layer, are skipped. */
    private static LoraConfig structureOnly(LoraConfig lora, boolean data) {
        return data || !lora.initLoraWeights().isPissa() ? lora : lora.withInit(LoraConfig.Init.DEFAULT);
    }

    private static int seqLen(FineTune f, int max, String field) {
        int T = f.config().seqLen() > 0 ? f.config().seqLen() : Math.min(max, 128);
        if (T > max) throw new Lora4jException("the sequence length " + T + " exceeds the model's " + field + " of " + max + " tokens");
        return T;
    }

    /**
     * The base config's labels when they name every label of the data (a task checkpoint keeps its classes and head
     * rows); otherwise the data's own: integer ids, or the sorted distinct names.
     */
    private static LabelMap labels(BertConfig base, LabelledTexts train) {
        LabelMap own = train.labelMap();                         // refuses one-class data and unbounded class ids
        if (base.labels() != null) {
            try {
                train.labelIds(base.labels());
                return base.labels();
            } catch (Lora4jException e) {
                return own;
            }
        }
        return own;
    }

    /**
     * Head-only: every LoRA layer becomes a no-op (lora_B = 0, so the encoder computes exactly the base model), left in
     * the model so that the adapter loads anywhere a SEQ_CLS adapter does; they are frozen once the base is stored.
     */
    private static List<Tensor> zeroLora(Module model) {
        List<Tensor> out = new ArrayList<>();
        model.namedParameters().forEach((name, p) -> {
            if (name.contains(".lora_A.") || name.contains(".lora_B.")) {
                if (name.contains(".lora_B.")) Arrays.fill(p.data(), 0f);
                out.add(p);
            }
        });
        return out;
    }

    /** Parameters of the base and head, without the head-only run's no-op LoRA layers: trainable ones, or all. */
    private static long count(Module model, boolean trainableOnly) {
        long n = 0;
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            if (e.getKey().contains(".lora_") || (trainableOnly && !e.getValue().requiresGrad())) continue;
            n += e.getValue().size();
        }
        return n;
    }

    private void loadData(FineTune f) {
        TrainConfig cfg = f.config();
        int T = plan.seqLen();
        if (model instanceof BertForSequenceClassification bert) {
            List<SequenceClassificationTask.Example> train, eval = List.of();
            try (EncoderTokenizer tok = EncoderTokenizer.load(f.model(), T)) {
                train = SequenceClassificationTask.examples(LabelledTexts.read(f.data()), plan.labels(), tok);
                if (f.evalData() != null) eval = SequenceClassificationTask.examples(LabelledTexts.read(f.evalData()), plan.labels(), tok);
            }
            task = new SequenceClassificationTask(bert, train, eval, cfg.batchSize());
            examples = train.size();
        } else {
            CausalLm lm = (CausalLm) model;
            List<Window> train, eval = List.of();
            try (Tokenizer tok = Tokenizer.available(f.model()) ? Tokenizer.load(f.model()) : null) {
                int eos = lm.eosTokenId().orElse(-1);
                train = Window.pack(Documents.load(f.data(), tok, lm.vocabSize(), eos), T);
                if (f.evalData() != null) eval = Window.pack(Documents.load(f.evalData(), tok, lm.vocabSize(), eos), T);
            }
            task = new CausalLmTask(lm, train, eval, cfg.batchSize());
            examples = train.size();
        }
    }

    /** Writes the usable result into {@code dir}: the PEFT adapter (with label_map.json for a classifier), or the whole model. */
    Consumer<Path> exporter(Path baseModel) {
        return dir -> {
            if (savedConfig == null) {
                if (model instanceof BertForSequenceClassification bert) BertSaver.writeInto(bert, baseModel, dir);
                else ModelSaver.writeInto(baseModel, (CausalLm) model, dir);
                return;
            }
            AdapterIO.write(dir, model, savedConfig);        // head-only: its no-op LoRA layers are part of the structure, saved too
            if (plan.labels() != null) plan.labels().write(dir);
        };
    }
}
