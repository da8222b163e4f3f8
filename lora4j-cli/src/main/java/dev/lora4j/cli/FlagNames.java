package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import java.util.Map;

/**
 * Core's messages name settings as Hugging Face and PEFT do (learning_rate, field 'r'); on the command line the user
 * typed flags, so {@code train}'s errors name the flag beside the setting: "--rank (field 'r') is 0 ...".
 */
final class FlagNames {
    private static final Map<String, String> FLAGS = Map.ofEntries(
            Map.entry("field 'r'", "--rank"), Map.entry("field 'lora_alpha'", "--alpha"), Map.entry("field 'lora_dropout'", "--dropout"),
            Map.entry("field 'target_modules'", "--targets"), Map.entry("learning_rate", "--lr"), Map.entry("num_train_epochs", "--epochs"),
            Map.entry("max_steps", "--max-steps"), Map.entry("batch_size", "--batch-size"), Map.entry("gradient_accumulation_steps", "--grad-accum"),
            Map.entry("seq_len", "--seq-len"), Map.entry("warmup_steps", "--warmup"), Map.entry("weight_decay", "--weight-decay"),
            Map.entry("max_grad_norm", "--max-grad-norm"), Map.entry("eval_steps", "--eval-every"), Map.entry("save_steps", "--save-every"),
            Map.entry("loraplus_lr_ratio", "--loraplus-lr-ratio"), Map.entry("field 'init_lora_weights'", "--init-lora-weights"));

    private FlagNames() {}

    /** The exception with each setting its message names prefixed by the flag that sets it. */
    static Lora4jException named(Lora4jException e) {
        String m = e.getMessage();
        for (var f : FLAGS.entrySet()) {
            if (m.startsWith(f.getKey())) m = f.getValue() + " (" + f.getKey() + ")" + m.substring(f.getKey().length());
            else m = m.replace(" " + f.getKey() + " ", " " + f.getValue() + " (" + f.getKey() + ") ");
        }
        return m.equals(e.getMessage()) ? e : new Lora4jException(m, e);
    }
}
