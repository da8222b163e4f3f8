package dev.lora4j.model;

import dev.lora4j.autograd.Tape;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.Map;

/** A decoder-only language model loaded from a Hugging Face directory: what eval, train and generate need. */
public interface CausalLm {
    /** The {@code model_type} of config.json, e.g. "gpt2". */
    String modelType();

    /** The module tree whose {@code namedParameters()} are the checkpoint keys. */
    Module module();

    /** Logits (B·T, V) for ids (B·T). */
    Tensor forward(Tape tape, int[] ids, int B, int T);

    int vocabSize();

    /** Longest sequence the position embeddings allow. */
    int maxPositions();

    /** Prefix of the HF module tree above {@link #module()}'s names ("transformer." for GPT-2), as PEFT sees it. */
    String peftPrefix();

    /** Headline sizes for {@code inspect}, by their config.json names. */
    Map<String, Object> sizes();
}
