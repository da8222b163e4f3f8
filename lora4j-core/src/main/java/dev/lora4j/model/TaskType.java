package dev.lora4j.model;

/** What a fine-tuned model does, named as PEFT's TaskType (the {@code task_type} of adapter_config.json). */
public enum TaskType {
    /** Next-token prediction (decoders: GPT-2, Llama, Mistral, Qwen2). */
    CAUSAL_LM,
    /** One label per text from a classification head (encoders: BERT, RoBERTa). */
    SEQ_CLS;

    /** The name PEFT writes in adapter_config.json. */
    public String peftName() {
        return name();
    }
}
