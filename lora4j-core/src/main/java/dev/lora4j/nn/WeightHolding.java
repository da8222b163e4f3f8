package dev.lora4j.nn;

import dev.lora4j.tensor.CompactFormat;
import java.util.function.Function;

/**
 * How a loader holds the weights it reads into the model it just built: each parameter as float32, or a matrix in a
 * {@link CompactFormat} it is encoded in as it is read (a frozen base loaded as bfloat16 or quantized, with no float32
 * copy). Decided per model, since which weights must stay float32 depends on its module tree (the modules a run trains).
 */
@FunctionalInterface
public interface WeightHolding {
    /** Every parameter float32, as saved. */
    WeightHolding FLOAT32 = model -> name -> null;

    /** For {@code model}, built but not yet loaded (no weight allocated): parameter name → its format, or null for float32. */
    Function<String, CompactFormat> formats(Model model);
}
