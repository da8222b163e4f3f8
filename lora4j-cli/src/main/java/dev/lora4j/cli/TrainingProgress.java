package dev.lora4j.cli;

import dev.lora4j.train.MetricsLog;
import dev.lora4j.train.Trainer;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import me.tongfei.progressbar.ProgressBar;

/**
 * What {@code train} shows and records per step, for every task: a metrics.jsonl line (step, loss, lr,
 * grad norm, what was scored and its rate, elapsed) and the progress bar; per evaluation, a metrics line
 * and one printed summary line; at the end, a summary line with time, parameter counts and peak memory.
 */
final class TrainingProgress implements Trainer.Listener {
    private final MetricsLog log;
    private final ProgressBar bar;
    private final PrintWriter out;
    private final String unit;
    private final Function<Map<String, Double>, String> evalSummary;
    private double elapsed;

    /** {@code unit}: what a step scores ("tokens", "examples"); {@code evalSummary}: the printed eval line. */
    TrainingProgress(MetricsLog log, ProgressBar bar, PrintWriter out, String unit, Function<Map<String, Double>, String> evalSummary) {
        this.log = log;
        this.bar = bar;
        this.out = out;
        this.unit = unit;
        this.evalSummary = evalSummary;
    }

    @Override
    public void onStep(Trainer.StepMetrics m) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", m.step());
        rec.put("loss", m.loss());
        rec.put("lr", m.lr());
        rec.put("grad_norm", m.gradNorm());
        rec.put(unit, m.tokens());
        rec.put(unit + "_per_s", m.tokensPerSecond());
        rec.put("elapsed_s", m.elapsedSeconds());
        elapsed = m.elapsedSeconds();
        log.write(rec);
        bar.stepTo(m.step());
        bar.setExtraMessage(String.format(" loss %.3f, %.0f %s/s", m.loss(), m.tokensPerSecond(), unit));
    }

    @Override
    public void onEval(int step, Map<String, Double> metrics) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", step);
        rec.putAll(metrics);
        log.write(rec);
        out.printf("step %d: %s%n", step, evalSummary.apply(metrics));
    }

    /**
     * The run's last metrics line: training time (this process's steps), trainable and total parameters and the peak
     * resident memory of the process so far; the peak is printed too.
     */
    void finish(long trainable, long total) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("train_runtime_s", elapsed);
        rec.put("trainable_params", trainable);
        rec.put("total_params", total);
        ProcessMemory.peakRssMb().ifPresent(mb -> rec.put("peak_rss_mb", mb));
        log.write(rec);
        ProcessMemory.peakRssMb().ifPresent(mb -> out.printf("peak memory (resident set of the process): %,.0f MB%n", mb));
    }
}
