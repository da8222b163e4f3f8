package dev.lora4j.model;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.WeightHolding;
import java.util.List;

/**
 * A {@link ModelFamily} that also reads GGUF files: the llama.cpp architectures it takes, the config.json their
 * metadata describes, and the model they hold. Only families llama.cpp has an architecture for implement it.
 */
public interface GgufFamily {
    /** The GGUF {@code general.architecture} values it reads (llama.cpp's names). */
    List<String> ggufArchitectures();

    /** The config.json that a GGUF file's metadata describes (its architecture is one of {@link #ggufArchitectures()}). */
    HfConfig hfConfig(GgufFile gguf);

    /**
     * The causal LM of a GGUF file whose architecture is one of {@link #ggufArchitectures()}; quantized matrices stay
     * in their blocks, float32 ones are held as {@code holding} says.
     */
    CausalLm causalLm(GgufFile gguf, WeightHolding holding);

    /** The family of a GGUF file, by its {@code general.architecture}. */
    static GgufFamily of(GgufFile gguf) {
        String arch = gguf.string("general.architecture");
        List<GgufFamily> readers = ModelFamily.ALL.stream().filter(f -> f instanceof GgufFamily).map(f -> (GgufFamily) f).toList();
        for (GgufFamily f : readers) if (f.ggufArchitectures().contains(arch)) return f;
        throw new Lora4jException(gguf.path() + ": general.architecture '" + arch + "' is not supported (supported: "
                + String.join(", ", readers.stream().flatMap(f -> f.ggufArchitectures().stream()).toList()) + ")");
    }
}
