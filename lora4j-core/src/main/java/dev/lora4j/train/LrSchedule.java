package dev.lora4j.train;

/**
 * Learning-rate schedules as Hugging Face's {@code get_*_schedule_with_warmup}: linear warm-up from 0 over
 * {@code warmup} steps, then cosine or linear decay to 0 at {@code total}, or constant. {@code step} is the
 * number of optimizer steps already taken (so the first step of a warm-up uses lr 0, as in HF).
 */
public enum LrSchedule {
    COSINE, LINEAR, CONSTANT;

    public float lr(float peak, int step, int warmup, int total) {
        if (step < warmup) return peak * step / Math.max(1, warmup);
        if (this == CONSTANT) return peak;
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        double factor = this == COSINE ? 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))) : Math.max(0, 1 - progress);
        return (float) (peak * factor);
    }
}
