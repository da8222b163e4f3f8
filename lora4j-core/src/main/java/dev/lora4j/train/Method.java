package dev.lora4j.train;

import dev.lora4j.lora.LoraConfig;

/** What a fine-tuning run trains. */
public sealed interface Method {
    /** LoRA layers (PEFT's semantics) on a frozen base; unset target_modules take the family's default. */
    record Lora(LoraConfig config) implements Method {
        public Lora {
            if (config == null) throw new IllegalArgumentException("a LoRA method needs its LoraConfig");
        }
    }

    /** Every parameter: the baseline LoRA is compared with; the result is a whole model. */
    record Full() implements Method {}

    /**
     * Sequence classification only: the classification head (and a newly initialised pooler) on the frozen encoder,
     * the frozen-encoder baseline. Saved as a SEQ_CLS adapter whose rank-1 LoRA layers are no-ops (lora_B = 0), so
     * that every command that loads such an adapter loads it.
     */
    record HeadOnly() implements Method {}

    static Method lora(LoraConfig config) {
        return new Lora(config);
    }

    static Method full() {
        return new Full();
    }

    static Method headOnly() {
        return new HeadOnly();
    }
}
