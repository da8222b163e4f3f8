// The `quantization_config` of a config.json that transformers wrote for a model loaded with bitsandbytes
// (BitsAndBytesConfig.to_dict(): quant_method, load_in_4bit, load_in_8bit, bnb_4bit_quant_type,
// bnb_4bit_use_double_quant, bnb_4bit_quant_storage, ...). lora4j reads the 4-bit checkpoints; LLM.int8 and the
// other quantization methods are refused here with what to do instead.
package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.tensor.Bnb4bit;

/** What the config promises about the 4-bit weights; {@link Bnb4bitWeights} checks every weight against it. */
public record BnbQuantization(Bnb4bit.QuantType quantType, boolean doubleQuant, String source) {
    private static final String FIELD = "quantization_config";

    /** The config's bitsandbytes 4-bit quantization, or null when it has no {@code quantization_config}. */
    public static BnbQuantization of(HfConfig config) {
        if (!config.has(FIELD)) return null;
        String where = config.source() + ": " + FIELD;
        JsonNode q = config.raw().get(FIELD);
        if (!q.isObject()) throw new Lora4jException(where + " is " + Json.describe(q) + ", expected an object");
        String method = string(q, "quant_method", "bitsandbytes", where);
        if (!method.equals("bitsandbytes")) {
            throw new Lora4jException(where + ": quant_method '" + method + "' is not supported: lora4j reads bitsandbytes 4-bit"
                    + " checkpoints (load_in_4bit); give the unquantized model (or a GGUF file) instead");
        }
        if (bool(q, "load_in_8bit", where)) {
            throw new Lora4jException(where + ": load_in_8bit (bitsandbytes LLM.int8) is not supported: lora4j reads bitsandbytes"
                    + " 4-bit checkpoints (load_in_4bit) only; give the unquantized model, or use --base-dtype q8_0 on it");
        }
        if (!bool(q, "load_in_4bit", where)) {
            throw new Lora4jException(where + ": neither load_in_4bit nor load_in_8bit is true: not a bitsandbytes checkpoint lora4j reads");
        }
        String storage = string(q, "bnb_4bit_quant_storage", "uint8", where);
        if (!storage.equals("uint8")) {
            throw new Lora4jException(where + ": bnb_4bit_quant_storage '" + storage + "' is not supported (only uint8)");
        }
        String type = string(q, "bnb_4bit_quant_type", "fp4", where);       // BitsAndBytesConfig's default
        Bnb4bit.QuantType quantType = switch (type) {
            case "nf4" -> Bnb4bit.QuantType.NF4;
            case "fp4" -> Bnb4bit.QuantType.FP4;
            default -> throw new Lora4jException(where + ": bnb_4bit_quant_type '" + type + "' is unknown (expected nf4 or fp4)");
        };
        return new BnbQuantization(quantType, bool(q, "bnb_4bit_use_double_quant", where), config.source());
    }

    private static String string(JsonNode q, String field, String dflt, String where) {
        JsonNode v = q.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw new Lora4jException(where + ": " + field + " is " + Json.describe(v) + ", expected a string");
        return v.textValue();
    }

    private static boolean bool(JsonNode q, String field, String where) {
        JsonNode v = q.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw new Lora4jException(where + ": " + field + " is " + Json.describe(v) + ", expected true or false");
        return v.booleanValue();
    }
}
