package dev.lora4j.train;

import dev.lora4j.Lora4jException;

/**
 * Hyper-parameters of a training run, named as Hugging Face's TrainingArguments name them. {@code maxSteps} > 0
 * overrides {@code epochs}; {@code evalEvery} / {@code saveEvery} of 0 mean only at the end; {@code seqLen} 0 means
 * the model's default (min(its maximum positions, 128)); {@code groupByLength} batches examples of similar length
 * together, the longest batch first (HF's group_by_length); {@code loraplusLrRatio} > 0 trains lora_B (and every
 * 1-D trainable tensor) at that multiple of the learning rate (LoRA+, PEFT's create_loraplus_optimizer; 0 = off);
 * {@code gradientCheckpointing} keeps only each transformer block's input in the forward and recomputes the block for its
 * backward (HF's gradient_checkpointing: the same gradients, less memory, one more forward). AdamW uses β = (0.9, 0.999), eps 1e-8 as torch's defaults.
 * Built with {@link #builder()}; every value is checked when built.
 */
public record TrainConfig(float lr, int epochs, int maxSteps, int batchSize, int gradAccum, int seqLen, int warmup,
                          LrSchedule schedule, float weightDecay, float maxGradNorm, long seed, int evalEvery,
                          int saveEvery, boolean groupByLength, float loraplusLrRatio, boolean gradientCheckpointing) {
    public TrainConfig {
        check(lr > 0 && Float.isFinite(lr), "learning_rate must be a positive number, got " + lr);
        check(epochs >= 0 && maxSteps >= 0, "num_train_epochs and max_steps must be 0 or more, got " + epochs + " and " + maxSteps);
        check(epochs >= 1 || maxSteps >= 1, "num_train_epochs or max_steps must be at least 1");
        check(batchSize >= 1, "batch_size must be at least 1, got " + batchSize);
        check(gradAccum >= 1, "gradient_accumulation_steps must be at least 1, got " + gradAccum);
        check(seqLen >= 0, "seq_len must be 0 (the model's default) or more, got " + seqLen);
        check(warmup >= 0, "warmup_steps must be 0 or more, got " + warmup);
        check(schedule != null, "lr_scheduler_type must be given");
        check(weightDecay >= 0 && Float.isFinite(weightDecay), "weight_decay must be 0 or more, got " + weightDecay);
        check(maxGradNorm >= 0 && Float.isFinite(maxGradNorm), "max_grad_norm must be 0 (off) or more, got " + maxGradNorm);
        check(evalEvery >= 0 && saveEvery >= 0, "eval_steps and save_steps must be 0 or more, got " + evalEvery + " and " + saveEvery);
        check(loraplusLrRatio >= 0 && Float.isFinite(loraplusLrRatio), "loraplus_lr_ratio must be 0 (off) or more, got " + loraplusLrRatio);
    }

    /** The settings without LoRA+ and gradient checkpointing. */
    public TrainConfig(float lr, int epochs, int maxSteps, int batchSize, int gradAccum, int seqLen, int warmup, LrSchedule schedule,
                       float weightDecay, float maxGradNorm, long seed, int evalEvery, int saveEvery, boolean groupByLength) {
        this(lr, epochs, maxSteps, batchSize, gradAccum, seqLen, warmup, schedule, weightDecay, maxGradNorm, seed, evalEvery, saveEvery,
                groupByLength, 0f, false);
    }

    /** lr 2e-4, 1 epoch, batch 8, the model's sequence length, cosine, no warm-up or decay, clip at 1.0, seed 42, save every 50. */
    public static TrainConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these values. */
    public Builder toBuilder() {
        return new Builder().lr(lr).epochs(epochs).maxSteps(maxSteps).batchSize(batchSize).gradAccum(gradAccum).seqLen(seqLen)
                .warmup(warmup).schedule(schedule).weightDecay(weightDecay).maxGradNorm(maxGradNorm).seed(seed)
                .evalEvery(evalEvery).saveEvery(saveEvery).groupByLength(groupByLength).loraplusLrRatio(loraplusLrRatio)
                .gradientCheckpointing(gradientCheckpointing);
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

    private static void check(boolean ok, String message) {
        if (!ok) throw new Lora4jException(message);
    }

    /** Named settings with the defaults of {@link #defaults()}. */
    public static final class Builder {
        private float lr = 2e-4f;
        private int epochs = 1, maxSteps, batchSize = 8, gradAccum = 1, seqLen, warmup, evalEvery, saveEvery = 50;
        private LrSchedule schedule = LrSchedule.COSINE;
        private float weightDecay, maxGradNorm = 1f;
        private long seed = 42;
        private boolean groupByLength, gradientCheckpointing;
        private float loraplusLrRatio;

        private Builder() {}

        /** Peak learning rate. */
        public Builder lr(float v) { lr = v; return this; }
        /** Passes over the data (ignored when {@link #maxSteps} > 0). */
        public Builder epochs(int v) { epochs = v; return this; }
        /** Optimizer steps; 0 = from the epochs. */
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        /** Examples (windows, texts) per micro-batch. */
        public Builder batchSize(int v) { batchSize = v; return this; }
        /** Micro-batches per optimizer step. */
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        /** Tokens per window or text; 0 = the model's default. */
        public Builder seqLen(int v) { seqLen = v; return this; }
        /** Linear warm-up steps. */
        public Builder warmup(int v) { warmup = v; return this; }
        /** The learning-rate schedule after warm-up. */
        public Builder schedule(LrSchedule v) { schedule = v; return this; }
        /** AdamW's decoupled weight decay. */
        public Builder weightDecay(float v) { weightDecay = v; return this; }
        /** Global gradient-norm clipping; 0 = off. */
        public Builder maxGradNorm(float v) { maxGradNorm = v; return this; }
        /** Seed of LoRA's initialisation, the data order and dropout masks. */
        public Builder seed(long v) { seed = v; return this; }
        /** Steps between evaluations; 0 = at the end only. */
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        /** Steps between checkpoints; 0 = at the end only. */
        public Builder saveEvery(int v) { saveEvery = v; return this; }
        /** Batches of examples of similar length, the longest first (HF's group_by_length). */
        public Builder groupByLength(boolean v) { groupByLength = v; return this; }
        /** LoRA+: lora_B's learning rate over lora_A's (typical 16); 0 = off. */
        public Builder loraplusLrRatio(float v) { loraplusLrRatio = v; return this; }
        /** Recompute each transformer block in the backward instead of keeping its activations (HF's gradient_checkpointing). */
        public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(lr, epochs, maxSteps, batchSize, gradAccum, seqLen, warmup, schedule, weightDecay, maxGradNorm, seed,
                    evalEvery, saveEvery, groupByLength, loraplusLrRatio, gradientCheckpointing);
        }
    }
}
