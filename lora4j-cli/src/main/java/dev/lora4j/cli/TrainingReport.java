package dev.lora4j.cli;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Method;
import dev.lora4j.model.TaskType;
import dev.lora4j.train.Trainer;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;

/**
 * What {@code train} shows while the pipeline runs: what is trained (modules, parameter counts, labels), how long the
 * run is, a progress bar (step, loss, rate, ETA) on a terminal, and one line per evaluation.
 */
final class TrainingReport implements FineTune.Listener, AutoCloseable {
    private final PrintWriter out;
    private ProgressBar bar;
    private String unit = "tokens";
    private TaskType task = TaskType.CAUSAL_LM;

    TrainingReport(PrintWriter out) {
        this.out = out;
    }

    @Override
    public void onPlan(FineTune.Plan p) {
        task = p.task();
        unit = task == TaskType.SEQ_CLS ? "examples" : "tokens";
        if (!p.newHeadParameters().isEmpty()) out.printf("new (seeded) head parameters: %s%n", String.join(", ", p.newHeadParameters()));
        LoraConfig l = p.lora();
        switch (p.method()) {
            case Method.Full f -> out.printf("full fine-tuning: %,d trainable parameters%s%n", p.report().trainable(),
                    task == TaskType.SEQ_CLS ? " (encoder and head)" : "");
            case Method.HeadOnly h -> {
                out.printf("head only: encoder frozen, no LoRA; trained in full: %s (the adapter keeps %d rank-1 LoRA layers with lora_B = 0, no-ops)%n",
                        String.join(", ", l.modulesToSave()), p.report().targeted().size());
                out.println(p.report().summary());
            }
            case Method.Lora lora -> {
                out.printf("%s r=%d alpha=%s%s on %d modules: %s%s%n", l.useDora() ? "DoRA" : "LoRA", l.r(), fmt(l.loraAlpha()),
                        l.initLoraWeights() == LoraConfig.Init.DEFAULT ? "" : " init " + l.initPeftValue(), p.report().targeted().size(),
                        String.join(", ", p.report().targeted()),
                        task == TaskType.SEQ_CLS ? "; trained in full: " + String.join(", ", l.modulesToSave()) : "");
                out.println(p.report().summary());
            }
        }
        if (p.labels() != null) out.printf("labels: %s%n", p.labels());
        out.flush();
    }

    @Override
    public void onStart(FineTune.Start s) {
        if (s.bf16Values() > 0) {
            out.printf("frozen base weights stored as bfloat16: %,d values (%,.0f MB saved)%n", s.bf16Values(), 2.0 * s.bf16Values() / 1e6);
        }
        out.printf("training %d steps on %,d %s of up to %d tokens (batch %d × accumulation %d)%n", s.totalSteps(), s.examples(),
                task == TaskType.SEQ_CLS ? "texts" : "windows", s.seqLen(), s.batchSize(), s.gradAccum());
        out.flush();
        bar = Progress.bar("train", s.totalSteps(), " steps");
        if (s.resumedStep() > 0) bar.stepTo(s.resumedStep());
    }

    @Override
    public void onResume(int step, List<String> overridden) {
        out.println(step == 0 ? "no checkpoint yet: starting from step 0" : "resuming after step " + step
                + (overridden.isEmpty() ? "" : " with " + String.join(", ", overridden)));
        out.flush();
    }

    @Override
    public void onStep(Trainer.StepMetrics m) {
        bar.stepTo(m.step());
        bar.setExtraMessage(String.format(" loss %.3f, %.0f %s/s", m.loss(), m.tokensPerSecond(), unit));
    }

    @Override
    public void onEval(int step, Map<String, Double> m) {
        out.printf("step %d: %s%n", step, task == TaskType.SEQ_CLS
                ? String.format("eval loss %.4f, accuracy %.4f, macro-F1 %.4f", m.get("eval_loss"), m.get("eval_accuracy"), m.get("eval_macro_f1"))
                : String.format("eval loss %.4f, perplexity %.2f", m.get("eval_loss"), m.get("eval_perplexity")));
        out.flush();
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }

    static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
