package dev.lora4j.nn;

import java.util.Map;

/**
 * A model loaded from a Hugging Face directory, as LoRA injection and PEFT adapter IO see it: a module tree
 * whose parameter names are checkpoint keys, where that tree sits in PEFT's module tree, and which linear
 * layer is the output head. {@link CausalLm} (decoders) and the BERT-family encoders are models.
 */
public interface Model {
    /** The {@code model_type} of config.json, e.g. "gpt2", "bert". */
    String modelType();

    /** The module tree whose {@code namedParameters()} are the checkpoint keys. */
    Module module();

    /**
     * Module name of the output head that "all-linear" leaves out (Llama's "lm_head", a classifier's
     * "classifier"); null when there is none or it is tied.
     */
    String outputHead();

    /** Prefix of the HF module tree above {@link #module()}'s names ("transformer." for GPT-2), as PEFT sees it. */
    String peftPrefix();

    /** Headline sizes for {@code inspect}, by their config.json names. */
    Map<String, Object> sizes();
}
