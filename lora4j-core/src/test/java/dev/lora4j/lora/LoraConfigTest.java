// LoraConfig against PEFT 0.20: family defaults, per-module rank/alpha/scale (get_pattern_key, rsLoRA),
// adapter_config.json read as PEFT writes it and written back in its layout, and bad input named by field.
package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraConfigTest {
    /** adapter_config.json as PEFT 0.20's save_pretrained writes it for GPT-2 with target_modules=["c_attn"]. */
    static final String PEFT_GPT2 = """
            {
              "alora_invocation_tokens": null,
              "alpha_pattern": {},
              "arrow_config": null,
              "auto_mapping": null,
              "base_model_name_or_path": "openai-community/gpt2",
              "bias": "none",
              "corda_config": null,
              "ensure_weight_tying": false,
              "eva_config": null,
              "exclude_modules": null,
              "fan_in_fan_out": true,
              "inference_mode": true,
              "init_lora_weights": true,
              "layer_replication": null,
              "layers_pattern": null,
              "layers_to_transform": null,
              "loftq_config": {},
              "lora_alpha": 32,
              "lora_bias": false,
              "lora_dropout": 0.05,
              "megatron_config": null,
              "megatron_core": "megatron.core",
              "modules_to_save": null,
              "peft_type": "LORA",
              "peft_version": "0.20.0",
              "qalora_group_size": 16,
              "r": 16,
              "rank_pattern": {},
              "revision": null,
              "target_modules": [
                "c_attn"
              ],
              "target_parameters": null,
              "task_type": "CAUSAL_LM",
              "trainable_token_indices": null,
              "use_dora": false,
              "use_qalora": false,
              "use_rslora": false
            }""";

    @TempDir
    Path dir;

    private Path write(String json) throws IOException {
        Path p = dir.resolve("adapter_config.json");
        Files.writeString(p, json);
        return p;
    }

    private static void assertMessage(Exception e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }

    private Lora4jException readError(String json) throws IOException {
        Path p = write(json);
        Lora4jException e = assertThrows(Lora4jException.class, () -> LoraConfig.read(p));
        assertMessage(e, p.toString());
        return e;
    }

    @Test
    void familyDefaultsArePefts() {
        LoraConfig gpt2 = LoraConfig.defaults("gpt2");
        assertEquals(new ModuleSpec.Names(List.of("c_attn")), gpt2.targetModules());
        assertEquals(8, gpt2.r());
        assertEquals(8.0, gpt2.loraAlpha());
        assertEquals(0.0, gpt2.loraDropout());
        assertEquals(LoraConfig.Bias.NONE, gpt2.bias());
        assertEquals(LoraConfig.Init.DEFAULT, gpt2.initLoraWeights());
        assertEquals("CAUSAL_LM", gpt2.taskType());
        assertTrue(gpt2.fanInFanOut(), "PEFT forces fan_in_fan_out for GPT-2's Conv1D");
        for (String family : List.of("llama", "mistral", "qwen2")) {
            assertEquals(ModuleSpec.names("q_proj", "v_proj"), LoraConfig.defaults(family).targetModules());
            assertEquals(false, LoraConfig.defaults(family).fanInFanOut());
        }
        assertEquals(ModuleSpec.names("query", "value"), LoraConfig.defaults("bert").targetModules());
        assertEquals(ModuleSpec.names("query", "value"), LoraConfig.defaults("roberta").targetModules());
        assertMessage(assertThrows(Lora4jException.class, () -> LoraConfig.defaults("mamba")), "mamba", "target_modules");
        LoraConfig explicit = LoraConfig.peftDefaults().withTargets(ModuleSpec.names("c_fc"));
        assertEquals(explicit, explicit.withDefaultTargets("gpt2"), "set targets are kept");
    }

    @Test
    void withMethodsOverrideOneField() {
        LoraConfig c = LoraConfig.defaults("llama").withR(16).withAlpha(32).withDropout(0.1).withBias(LoraConfig.Bias.LORA_ONLY)
                .withInit(LoraConfig.Init.GAUSSIAN).withBaseModel("meta-llama/Llama-3.2-1B").withTargets(new ModuleSpec.AllLinear());
        assertEquals(16, c.r());
        assertEquals(32.0, c.loraAlpha());
        assertEquals(0.1, c.loraDropout());
        assertEquals(LoraConfig.Bias.LORA_ONLY, c.bias());
        assertEquals("meta-llama/Llama-3.2-1B", c.baseModelNameOrPath());
        assertEquals(new ModuleSpec.AllLinear(), c.targetModules());
        assertEquals(ModuleSpec.names("q_proj", "v_proj"), LoraConfig.defaults("llama").targetModules(), "records are immutable");
    }

    @Test
    void scaleIsAlphaOverRankOrOverSqrtRankWithRslora() {
        LoraConfig c = LoraConfig.defaults("gpt2").withR(4).withAlpha(16);
        assertEquals(4.0, c.scaleFor("transformer.h.0.attn.c_attn"));
        assertEquals(8.0, c.withRslora(true).scaleFor("transformer.h.0.attn.c_attn"));
        assertEquals(8.0 / Math.sqrt(8), LoraConfig.defaults("gpt2").withRslora(true).scaleFor("transformer.h.0.attn.c_attn"), 1e-15);
    }

    @Test
    void rankAndAlphaPatternsMatchAsGetPatternKey() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("layers.0.self_attn.q_proj", 32);
        ranks.put("q_proj", 16);
        ranks.put("^v_proj", 2);
        ranks.put("mlp\\.(up|down)_proj", 4);
        LoraConfig c = LoraConfig.defaults("llama").withRankPattern(ranks).withAlphaPattern(Map.of("o_proj", 64.0));
        assertEquals(32, c.rankFor("model.layers.0.self_attn.q_proj"));
        assertEquals(16, c.rankFor("model.layers.1.self_attn.q_proj"));
        assertEquals(8, c.rankFor("model.layers.0.self_attn.v_proj"), "^ anchors at the start of the whole path");
        assertEquals(2, c.rankFor("v_proj"));
        assertEquals(4, c.rankFor("model.layers.3.mlp.up_proj"));
        assertEquals(8, c.rankFor("model.layers.3.mlp.gate_proj"));
        assertEquals(8, c.rankFor("model.layers.3.self_attn.qq_proj"), "a key matches whole dotted segments only");
        assertEquals(64.0, c.alphaFor("model.layers.0.self_attn.o_proj"));
        assertEquals(8.0, c.alphaFor("model.layers.0.self_attn.q_proj"));
        assertEquals(64.0 / 8, c.scaleFor("model.layers.2.self_attn.o_proj"));
        assertEquals(8.0 / 32, c.scaleFor("model.layers.0.self_attn.q_proj"));

        Map<String, Integer> reversed = new LinkedHashMap<>();
        reversed.put("q_proj", 16);
        reversed.put("layers.0.self_attn.q_proj", 32);
        assertEquals(16, c.withRankPattern(reversed).rankFor("model.layers.0.self_attn.q_proj"), "the first matching key wins");

        LoraConfig gpt2 = LoraConfig.defaults("gpt2").withRankPattern(Map.of("attn.c_proj", 4)).withAlphaPattern(Map.of("proj", 1.0));
        assertEquals(4, gpt2.rankFor("transformer.h.0.attn.c_proj"));
        assertEquals(8, gpt2.rankFor("transformer.h.0.mlp.c_proj"));
        assertEquals(8.0, gpt2.alphaFor("transformer.h.0.mlp.c_proj"), "'proj' is not a suffix of 'c_proj'");
    }

    @Test
    void readsAdapterConfigWrittenByPeft() throws IOException {
        LoraConfig c = LoraConfig.read(write(PEFT_GPT2));
        assertEquals(16, c.r());
        assertEquals(32.0, c.loraAlpha());
        assertEquals(0.05, c.loraDropout());
        assertEquals(ModuleSpec.names("c_attn"), c.targetModules());
        assertNull(c.excludeModules());
        assertNull(c.layersToTransform());
        assertTrue(c.fanInFanOut());
        assertEquals(LoraConfig.Init.DEFAULT, c.initLoraWeights());
        assertEquals("openai-community/gpt2", c.baseModelNameOrPath());
        assertEquals("CAUSAL_LM", c.taskType());
        assertEquals(2.0, c.scaleFor("transformer.h.0.attn.c_attn"));
        assertEquals(c, LoraConfig.parse(c.toJson(), "round trip"));
    }

    @Test
    void missingFieldsTakePeftDefaultsAndUnknownOnesAreIgnored() {
        LoraConfig c = LoraConfig.parse("""
                {"peft_type": "LORA", "target_modules": ".*\\\\.attn\\\\.c_attn", "some_future_field": {"x": 1},
                 "layers_pattern": null, "init_lora_weights": "gaussian", "rank_pattern": null}""", "a.json");
        assertEquals(LoraConfig.peftDefaults().withTargets(new ModuleSpec.Regex(".*\\.attn\\.c_attn"))
                .withInit(LoraConfig.Init.GAUSSIAN), c);
        LoraConfig layers = LoraConfig.parse("""
                {"peft_type": "LORA", "target_modules": ["q_proj"], "layers_to_transform": 3, "layers_pattern": "layers",
                 "init_lora_weights": false, "exclude_modules": "model\\\\.layers\\\\.0\\\\..*", "target_parameters": []}""", "b.json");
        assertEquals(List.of(3), layers.layersToTransform());
        assertEquals(List.of("layers"), layers.layersPattern());
        assertEquals(LoraConfig.Init.RANDOM, layers.initLoraWeights());
        assertEquals(new ModuleSpec.Regex("model\\.layers\\.0\\..*"), layers.excludeModules());
        assertEquals(new ModuleSpec.AllLinear(),
                LoraConfig.parse("{\"peft_type\": \"LORA\", \"target_modules\": \"ALL-LINEAR\"}", "c.json").targetModules());
    }

    @Test
    void writesPeftsLayout() {
        assertEquals("""
                {
                  "alpha_pattern": {},
                  "auto_mapping": null,
                  "base_model_name_or_path": "gpt2",
                  "bias": "none",
                  "exclude_modules": null,
                  "fan_in_fan_out": true,
                  "inference_mode": true,
                  "init_lora_weights": true,
                  "layer_replication": null,
                  "layers_pattern": null,
                  "layers_to_transform": null,
                  "loftq_config": {},
                  "lora_alpha": 8,
                  "lora_bias": false,
                  "lora_dropout": 0.0,
                  "megatron_config": null,
                  "megatron_core": "megatron.core",
                  "modules_to_save": null,
                  "peft_type": "LORA",
                  "r": 8,
                  "rank_pattern": {},
                  "revision": null,
                  "target_modules": [
                    "c_attn"
                  ],
                  "task_type": "CAUSAL_LM",
                  "use_dora": false,
                  "use_rslora": false
                }""", LoraConfig.defaults("gpt2").withBaseModel("gpt2").toJson());
        assertEquals("0.05", LoraConfigJson.pythonFloat(0.05));
        assertEquals("1e-05", LoraConfigJson.pythonFloat(1e-5));
        assertEquals("0.0001", LoraConfigJson.pythonFloat(1e-4));
        assertEquals("1.5e+16", LoraConfigJson.pythonFloat(1.5e16));
        assertEquals("16.0", LoraConfigJson.pythonFloat(16));
    }

    @Test
    void everyFieldSurvivesARoundTrip() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("v_proj", 4);
        ranks.put("layers.1.self_attn.q_proj", 16);
        LoraConfig c = LoraConfig.defaults("llama").withR(12).withAlpha(24.5).withDropout(0.125).withRslora(true)
                .withExcludes(ModuleSpec.names("model.layers.0.self_attn.q_proj")).withLayers(List.of(0, 1), List.of("layers"))
                .withRankPattern(ranks).withAlphaPattern(Map.of("q_proj", 48.0)).withInit(LoraConfig.Init.RANDOM)
                .withBias(LoraConfig.Bias.ALL).withModulesToSave(List.of("score")).withTaskType("SEQ_CLS")
                .withBaseModel("Llama \"é\"");
        String json = c.toJson();
        assertTrue(json.contains("\"lora_alpha\": 24.5") && json.contains("\"Llama \\\"\\u00e9\\\"\""), json);
        assertTrue(json.contains("\"layers.1.self_attn.q_proj\": 16,\n    \"v_proj\": 4"), "nested keys sorted: " + json);
        LoraConfig back = LoraConfig.parse(json, "round trip");
        assertEquals(c, back);
        assertEquals(List.of("layers.1.self_attn.q_proj", "v_proj"), List.copyOf(back.rankPattern().keySet()),
                "PEFT's sort_keys reorders the patterns, and the first match wins on reading");
        assertTrue(LoraConfig.parse("{\"peft_type\": \"LORA\", \"target_modules\": \"q|v\"}", "x").toJson()
                .contains("\"target_modules\": \"q|v\""), "a regex is written as a string");
    }

    /** use_dora and PiSSA's init_lora_weights ("pissa", "pissa_niter_K") read and write as PEFT spells them. */
    @Test
    void doraAndPissaFieldsSurviveARoundTrip() {
        LoraConfig c = LoraConfig.parse("{\"peft_type\": \"LORA\", \"use_dora\": true, \"init_lora_weights\": \"pissa_niter_4\"}", "x");
        assertTrue(c.useDora());
        assertEquals(LoraConfig.Init.PISSA_NITER, c.initLoraWeights());
        assertEquals(4, c.pissaNiter());
        String json = c.toJson();
        assertTrue(json.contains("\"use_dora\": true") && json.contains("\"init_lora_weights\": \"pissa_niter_4\""), json);
        assertEquals(c, LoraConfig.parse(json, "round trip"));
        LoraConfig full = LoraConfig.parse("{\"peft_type\": \"LORA\", \"init_lora_weights\": \"pissa\"}", "x");
        assertEquals(LoraConfig.Init.PISSA, full.initLoraWeights());
        assertTrue(full.toJson().contains("\"init_lora_weights\": \"pissa\""));
        assertEquals(0, full.withPissaNiter(2).withInit(LoraConfig.Init.GAUSSIAN).pissaNiter(), "another init drops the iterations");
    }

    /** init_lora_weights given as text (train's --init-lora-weights) takes PEFT's values as adapter_config.json spells them. */
    @Test
    void initFromPeftText() {
        LoraConfig d = LoraConfig.defaults("gpt2");
        assertEquals(LoraConfig.Init.DEFAULT, d.withInit(LoraConfig.Init.GAUSSIAN).withInitPeftValue("true").initLoraWeights());
        assertEquals(LoraConfig.Init.RANDOM, d.withInitPeftValue("false").initLoraWeights());
        assertEquals(LoraConfig.Init.GAUSSIAN, d.withInitPeftValue("gaussian").initLoraWeights());
        assertEquals(LoraConfig.Init.PISSA, d.withInitPeftValue("pissa").initLoraWeights());
        assertEquals("pissa_niter_16", d.withInitPeftValue("pissa_niter_16").initPeftValue());
        assertMessage(assertThrows(Lora4jException.class, () -> d.withInitPeftValue("olora")), "'init_lora_weights'", "olora", "not supported");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withInitPeftValue("pissa_niter_")), "pissa_niter_");
    }

    @Test
    void badValuesNameTheField() throws IOException {
        LoraConfig d = LoraConfig.defaults("gpt2");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withR(0)), "'r'", "0", "positive");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withDropout(1.5)), "'lora_dropout'", "1.5", "[0, 1)");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withDropout(1.0)), "'lora_dropout'");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withDropout(-0.1)), "'lora_dropout'");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withAlpha(Double.NaN)), "'lora_alpha'");
        for (double alpha : new double[] {-16, 0, Double.POSITIVE_INFINITY}) {
            assertMessage(assertThrows(Lora4jException.class, () -> d.withAlpha(alpha)), "field 'lora_alpha' is " + alpha, "a positive finite number");
        }
        assertMessage(assertThrows(Lora4jException.class, () -> d.withAlphaPattern(Map.of("c_attn", -1.0))), "alpha_pattern['c_attn']", "-1.0", "positive");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"lora_alpha\": -16}"), "'lora_alpha'", "-16.0", "positive");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withRankPattern(Map.of("c_attn", 0))), "rank_pattern['c_attn']");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withTaskType("CHAT")), "'task_type'", "CHAT");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withTargets(new ModuleSpec.Regex("c_(attn"))), "'target_modules'", "c_(attn");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withExcludes(new ModuleSpec.AllLinear())), "'exclude_modules'");
        assertMessage(assertThrows(Lora4jException.class,
                () -> d.withTargets(ModuleSpec.of(".*c_attn")).withLayers(List.of(0), null)), "'layers_to_transform'", "string");
        assertMessage(assertThrows(Lora4jException.class,
                () -> d.withTargets(new ModuleSpec.AllLinear()).withLayers(List.of(0), null)), "'layers_to_transform'");
        assertMessage(assertThrows(Lora4jException.class, () -> d.withLayers(null, List.of("h"))), "'layers_pattern'", "layers_to_transform");
        assertMessage(assertThrows(Lora4jException.class, () -> LoraConfig.Bias.fromPeft("some")), "'bias'", "some", "lora_only");

        assertMessage(readError("{\"peft_type\": \"LORA\", \"r\": 0}"), "'r'", "0");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"lora_dropout\": 1.5}"), "'lora_dropout'", "1.5");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"bias\": \"some\"}"), "'bias'", "some");
        assertMessage(readError("{\"r\": 8, \"target_modules\": [\"c_attn\"]}"), "'peft_type'", "missing");
        assertMessage(readError("{\"peft_type\": \"PREFIX_TUNING\", \"num_virtual_tokens\": 20}"), "'peft_type'", "PREFIX_TUNING", "LORA");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"r\": 8,\n \"lora_alpha\": }"), "not valid JSON", "line 2");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"r\": \"8\"}"), "'r'", "\"8\"", "integer");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"target_modules\": 3}"), "'target_modules'", "3");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\", 1]}"), "'target_modules'", "list of strings");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"rank_pattern\": {\"q_proj\": 2.5}}"), "rank_pattern['q_proj']", "2.5");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"init_lora_weights\": \"olora\"}"), "'init_lora_weights'", "olora", "not supported");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"init_lora_weights\": \"pissa_niter_x\"}"), "'init_lora_weights'", "pissa_niter_x", "not supported");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"init_lora_weights\": \"loftq\"}"), "loftq", "not supported");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"lora_bias\": true}"), "'lora_bias'", "bias on lora_B", "not supported");
        assertMessage(readError("{\"peft_type\": \"LORA\", \"layer_replication\": [[0, 2]]}"), "'layer_replication'");
        Path missing = dir.resolve("nope/adapter_config.json");
        assertMessage(assertThrows(Lora4jException.class, () -> LoraConfig.read(missing)), missing.toString(), "not found");
    }
}
