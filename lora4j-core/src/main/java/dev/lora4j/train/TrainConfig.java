package dev.lora4j.train;

/**
 * Hyper-parameters of a training run, as the CLI flags name them. {@code maxSteps} > 0 overrides
 * {@code epochs}; {@code evalEvery} / {@code saveEvery} of 0 mean only at the end. AdamW uses β = (0.9, 0.999),
 * eps 1e-8 as torch's defaults.
 */
public record TrainConfig(float lr, int epochs, int maxSteps, int batchSize, int gradAccum, int seqLen, int warmup,
                          LrSchedule schedule, float weightDecay, float maxGradNorm, long seed, int evalEvery,
                          int saveEvery) {
    public TrainConfig {
        check(lr > 0 && Float.isFinite(lr), "--lr must be a positive number, got " + lr);
        check(epochs >= 1 || maxSteps >= 1, "--epochs or --max-steps must be at least 1");
        check(batchSize >= 1, "--batch-size must be at least 1, got " + batchSize);
        check(gradAccum >= 1, "--grad-accum must be at least 1, got " + gradAccum);
        check(seqLen >= 1, "--seq-len must be at least 1, got " + seqLen);
        check(warmup >= 0, "--warmup must be 0 or more, got " + warmup);
        check(weightDecay >= 0, "--weight-decay must be 0 or more, got " + weightDecay);
        check(maxGradNorm >= 0, "--max-grad-norm must be 0 (off) or more, got " + maxGradNorm);
        check(evalEvery >= 0 && saveEvery >= 0, "--eval-every and --save-every must be 0 or more");
    }

    /** lr 2e-4, 1 epoch, batch 8, seq 128, cosine, no warm-up or decay, clip at 1.0, seed 42. */
    public static TrainConfig defaults() {
        return new TrainConfig(2e-4f, 1, 0, 8, 1, 128, 0, LrSchedule.COSINE, 0f, 1f, 42, 0, 0);
    }

    public TrainConfig withLr(float v) {
        return new TrainConfig(v, epochs, maxSteps, batchSize, gradAccum, seqLen, warmup, schedule, weightDecay, maxGradNorm, seed, evalEvery, saveEvery);
    }

    public TrainConfig withMaxSteps(int v) {
        return new TrainConfig(lr, epochs, v, batchSize, gradAccum, seqLen, warmup, schedule, weightDecay, maxGradNorm, seed, evalEvery, saveEvery);
    }

    public TrainConfig withBatch(int batch, int accum) {
        return new TrainConfig(lr, epochs, maxSteps, batch, accum, seqLen, warmup, schedule, weightDecay, maxGradNorm, seed, evalEvery, saveEvery);
    }

    public TrainConfig withSeqLen(int v) {
        return new TrainConfig(lr, epochs, maxSteps, batchSize, gradAccum, v, warmup, schedule, weightDecay, maxGradNorm, seed, evalEvery, saveEvery);
    }

    public TrainConfig withSaveEvery(int v) {
        return new TrainConfig(lr, epochs, maxSteps, batchSize, gradAccum, seqLen, warmup, schedule, weightDecay, maxGradNorm, seed, evalEvery, v);
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new dev.lora4j.Lora4jException(message);
    }

    public float beta1() {
        return 0.9f;
    }

    public float beta2() {
        return 0.999f;
    }

    public float eps() {
        return 1e-8f;
    }
}
