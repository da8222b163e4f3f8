// Hostile config.json numbers for every family: zero and negative sizes, out-of-range integers, NaN / infinite /
// negative epsilons and rope_theta, probabilities outside [0, 1). Each must be one Lora4jException naming the file,
// the field, the value and what is allowed (before: "/ by zero", or a model that silently computed NaN).
package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.HfConfig;
import dev.lora4j.model.bert.BertConfig;
import dev.lora4j.model.gpt2.Gpt2Config;
import dev.lora4j.model.llama.LlamaConfig;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ConfigValidationTest {
    private static final String GPT2 = "\"model_type\": \"gpt2\", \"vocab_size\": 50, \"n_positions\": 32, \"n_embd\": 16, \"n_layer\": 2, \"n_head\": 4";
    private static final String LLAMA = "\"model_type\": \"llama\", \"vocab_size\": 100, \"hidden_size\": 16, \"intermediate_size\": 40,"
            + " \"num_hidden_layers\": 3, \"num_attention_heads\": 4";
    private static final String MISTRAL = LLAMA.replace("\"llama\"", "\"mistral\"");
    private static final String BERT = "\"model_type\": \"bert\", \"vocab_size\": 100, \"hidden_size\": 16, \"num_hidden_layers\": 2,"
            + " \"num_attention_heads\": 4, \"intermediate_size\": 32, \"max_position_embeddings\": 64";

    /** {@code base} with {@code field: value} replacing (or added to) it, parsed by {@code from}; must fail naming both. */
    private static void refused(Function<HfConfig, ?> from, String base, String field, String value, String... expected) {
        String json = "{" + base.replaceAll("(, )?\"" + field + "\": [^,]+", "") + ", \"" + field + "\": " + value + "}";
        String msg = assertThrows(Lora4jException.class, () -> from.apply(HfConfig.parse(json, "dir/config.json")),
                field + " " + value).getMessage();
        assertTrue(msg.startsWith("dir/config.json: "), msg);
        assertTrue(msg.contains(field), "field name missing: " + msg);
        for (String e : expected) assertTrue(msg.contains(e), "'" + e + "' not in: " + msg);
        assertEquals(1, msg.lines().count(), msg);
    }

    @Test
    void gpt2SizesMustBePositiveAndInRange() {
        for (String field : new String[] {"n_head", "n_embd", "n_layer", "vocab_size", "n_positions", "n_inner"}) {
            refused(Gpt2Config::from, GPT2, field, "0", "is 0", "expected a positive integer");
            refused(Gpt2Config::from, GPT2, field, "-16", "is -16", "expected a positive integer");
        }
        refused(Gpt2Config::from, GPT2, "n_embd", "2147483648", "2147483648", "out of range", "2147483647");
        refused(Gpt2Config::from, GPT2, "n_layer", "1e3", "a number 1000.0", "expected a positive integer");
    }

    @Test
    void gpt2EpsilonMustBePositiveFiniteAndDropoutsProbabilities() {
        for (String v : new String[] {"NaN", "-1e-05", "Infinity", "0"}) {
            refused(Gpt2Config::from, GPT2, "layer_norm_epsilon", v, "expected a positive finite number");
        }
        refused(Gpt2Config::from, GPT2, "layer_norm_epsilon", "1e-50", "float32");
        for (String field : new String[] {"resid_pdrop", "embd_pdrop", "attn_pdrop"}) {
            refused(Gpt2Config::from, GPT2, field, "2.0", "is 2.0", "expected a probability in [0, 1)");
            refused(Gpt2Config::from, GPT2, field, "-0.1", "is -0.1", "[0, 1)");
            refused(Gpt2Config::from, GPT2, field, "NaN", "is NaN", "[0, 1)");
        }
    }

    @Test
    void llamaSizesEpsilonAndRopeThetaAreChecked() {
        for (String field : new String[] {"hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "vocab_size",
                "head_dim", "num_key_value_heads", "max_position_embeddings"}) {
            refused(LlamaConfig::from, LLAMA, field, "0", "is 0", "expected a positive integer");
        }
        for (String v : new String[] {"NaN", "-1e-06", "Infinity"}) {
            refused(LlamaConfig::from, LLAMA, "rms_norm_eps", v, "expected a positive finite number");
            refused(LlamaConfig::from, LLAMA, "rope_theta", v.replace("e-06", ""), "expected a positive finite number");
        }
        refused(LlamaConfig::from, LLAMA, "rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": NaN}", "rope_theta", "is NaN",
                "positive finite");
        refused(LlamaConfig::from, MISTRAL, "sliding_window", "-1", "is -1", "expected a non-negative integer");
    }

    @Test
    void bertSizesEpsilonDropoutsAndLabelCountAreChecked() {
        for (String field : new String[] {"hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "vocab_size",
                "max_position_embeddings", "type_vocab_size"}) {
            refused(BertConfig::from, BERT, field, "0", "is 0", "expected a positive integer");
        }
        refused(BertConfig::from, BERT, "layer_norm_eps", "NaN", "is NaN", "expected a positive finite number");
        refused(BertConfig::from, BERT, "hidden_dropout_prob", "2.0", "is 2.0", "[0, 1)");
        refused(BertConfig::from, BERT, "attention_probs_dropout_prob", "1", "is 1", "[0, 1)");
        refused(BertConfig::from, BERT, "classifier_dropout", "1.5", "is 1.5", "[0, 1)");
        refused(BertConfig::from, BERT, "num_labels", "0", "is 0", "expected a positive integer");
        refused(BertConfig::from, BERT, "num_labels", "100000000", "is 100000000", "at most 10000");
    }
}
