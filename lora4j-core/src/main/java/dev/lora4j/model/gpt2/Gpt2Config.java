package dev.lora4j.model.gpt2;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;

/**
 * GPT-2 hyper-parameters, with the field meanings of HF GPT2Config ({@code n_embd}, {@code n_head}, ...).
 * {@code nInner} defaults to 4·nEmbd; only the tanh GELU ("gelu_new", GPT-2's own) is supported.
 */
public record Gpt2Config(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead, int nInner,
                         float layerNormEpsilon, float residPdrop, float embdPdrop, float attnPdrop) {
    public Gpt2Config {
        if (vocabSize <= 0 || nPositions <= 0 || nEmbd <= 0 || nLayer <= 0 || nHead <= 0 || nInner <= 0) {
            throw new IllegalArgumentException("GPT-2 sizes must be positive");
        }
        if (nEmbd % nHead != 0) throw new IllegalArgumentException("n_embd " + nEmbd + " is not divisible by n_head " + nHead);
        if (nEmbd > Integer.MAX_VALUE / 3) throw new IllegalArgumentException("n_embd " + nEmbd + " is too large (c_attn's 3 × n_embd outputs exceed " + Integer.MAX_VALUE + ")");
        if (!(layerNormEpsilon > 0) || Float.isInfinite(layerNormEpsilon)) {
            throw new IllegalArgumentException("layer_norm_epsilon " + layerNormEpsilon + " is not a positive finite float32");
        }
        for (float p : new float[] {residPdrop, embdPdrop, attnPdrop}) {
            if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout probability " + p + " is outside [0, 1)");
        }
    }

    public int headDim() {
        return nEmbd / nHead;
    }

    /** Maps a config.json to the record; names the file and field on any problem. */
    public static Gpt2Config from(HfConfig c) {
        String act = c.stringOr("activation_function", "gelu_new");
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh")) {
            throw new Lora4jException(c.source() + ": activation_function '" + act + "' is not supported for gpt2 (expected gelu_new)");
        }
        int nEmbd = c.positiveInt("n_embd"), nHead = c.positiveInt("n_head");
        if (nEmbd % nHead != 0) {
            throw new Lora4jException(c.source() + ": n_embd " + nEmbd + " is not divisible by n_head " + nHead);
        }
        if (!c.raw().path("n_inner").isNumber() && nEmbd > Integer.MAX_VALUE / 4) {
            throw new Lora4jException(c.source() + ": n_embd " + nEmbd + " is too large (the default n_inner, 4 × n_embd, exceeds " + Integer.MAX_VALUE + ")");
        }
        int nInner = c.raw().path("n_inner").isNumber() ? c.positiveInt("n_inner") : 4 * nEmbd;
        try {
            return new Gpt2Config(c.positiveInt("vocab_size"), c.positiveInt("n_positions"), nEmbd, c.positiveInt("n_layer"), nHead,
                    nInner, (float) c.positiveDoubleOr("layer_norm_epsilon", 1e-5), (float) c.probabilityOr("resid_pdrop", 0.1),
                    (float) c.probabilityOr("embd_pdrop", 0.1), (float) c.probabilityOr("attn_pdrop", 0.1));
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(c.source() + ": " + e.getMessage(), e);
        }
    }
}
