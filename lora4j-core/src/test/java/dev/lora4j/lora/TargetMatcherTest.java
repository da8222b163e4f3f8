// TargetMatcher against PEFT 0.20's check_target_module_exists on real GPT-2, Llama and RoBERTa module paths:
// exact name or dotted suffix, full-match regex, "all-linear", exclusions, modules_to_save, layers_to_transform.
package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.lora.TargetMatcher.Decision;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TargetMatcherTest {
    /** GPT2LMHeadModel's linear layers (Conv1D) for two blocks, then the tied lm_head. */
    static final List<String> GPT2 = gpt2();
    /** LlamaForCausalLM's linear layers for two decoder layers, then lm_head. */
    static final List<String> LLAMA = llama();

    private static List<String> gpt2() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            for (String s : List.of("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")) names.add("transformer.h." + i + "." + s);
        }
        names.add("lm_head");
        return List.copyOf(names);
    }

    private static List<String> llama() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            for (String s : List.of("q_proj", "k_proj", "v_proj", "o_proj")) names.add("model.layers." + i + ".self_attn." + s);
            for (String s : List.of("gate_proj", "up_proj", "down_proj")) names.add("model.layers." + i + ".mlp." + s);
        }
        names.add("lm_head");
        return List.copyOf(names);
    }

    private static List<String> targeted(LoraConfig config, List<String> modules) {
        return new TargetMatcher(config).select(modules, "lm_head").targeted();
    }

    private static LoraConfig gpt2(ModuleSpec targets) {
        return LoraConfig.defaults("gpt2").withTargets(targets);
    }

    private static LoraConfig llama(ModuleSpec targets) {
        return LoraConfig.defaults("llama").withTargets(targets);
    }

    @Test
    void namesMatchExactlyOrAsDottedSuffix() {
        assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"), targeted(LoraConfig.defaults("gpt2"), GPT2));
        assertEquals(List.of("transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_proj",
                "transformer.h.1.mlp.c_proj"), targeted(gpt2(ModuleSpec.names("c_proj")), GPT2));
        assertEquals(List.of("transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj"), targeted(gpt2(ModuleSpec.names("attn.c_proj")), GPT2));
        assertEquals(List.of(), targeted(gpt2(ModuleSpec.names("proj", "attn")), GPT2), "'proj' is not a dotted suffix of 'c_proj'");
        assertEquals(List.of(), targeted(llama(ModuleSpec.names("proj")), LLAMA));
        assertEquals(List.of("transformer.h.1.mlp.c_fc"), targeted(gpt2(ModuleSpec.names("transformer.h.1.mlp.c_fc")), GPT2));
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj",
                "model.layers.1.self_attn.v_proj"), targeted(LoraConfig.defaults("llama"), LLAMA));
        assertEquals(List.of("lm_head"), targeted(llama(ModuleSpec.names("lm_head")), LLAMA), "a named head is targeted");
    }

    @Test
    void aRegexMustMatchTheWholePath() {
        assertEquals(List.of(), targeted(gpt2(ModuleSpec.of("c_attn")), GPT2), "a regex is not a suffix");
        assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"), targeted(gpt2(ModuleSpec.of(".*c_attn")), GPT2));
        assertEquals(List.of("transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj"),
                targeted(gpt2(ModuleSpec.of("transformer\\.h\\.1\\.attn\\.c_(attn|proj)")), GPT2));
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.1.self_attn.q_proj",
                "model.layers.1.self_attn.k_proj"), targeted(llama(ModuleSpec.of(".*self_attn\\.(q|k)_proj")), LLAMA));
    }

    @Test
    void allLinearIsEveryLinearLayerButTheOutputHead() {
        assertEquals(GPT2.subList(0, 8), targeted(gpt2(ModuleSpec.of("all-linear")), GPT2));
        assertEquals(LLAMA.subList(0, 14), targeted(llama(new ModuleSpec.AllLinear()), LLAMA));
        TargetMatcher m = new TargetMatcher(gpt2(new ModuleSpec.AllLinear()));
        assertEquals(Decision.UNMATCHED, m.decide("transformer.h.0.ln_1", false, false), "not linear: not matched, no error");
        assertEquals(Decision.UNMATCHED, m.decide("lm_head", true, true));
        TargetMatcher cls = new TargetMatcher(LoraConfig.defaults("roberta").withTargets(new ModuleSpec.AllLinear()).withTaskType("SEQ_CLS"));
        assertFalse(cls.matches("classifier.out_proj", true, true), "the SEQ_CLS head plays the output head");
        assertTrue(cls.matches("roberta.pooler.dense", true, false));
    }

    @Test
    void excludeModulesWins() {
        assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_fc", "transformer.h.1.attn.c_attn", "transformer.h.1.mlp.c_fc"),
                targeted(gpt2(new ModuleSpec.AllLinear()).withExcludes(ModuleSpec.names("c_proj")), GPT2));
        assertEquals(GPT2.subList(4, 8), targeted(gpt2(new ModuleSpec.AllLinear()).withExcludes(ModuleSpec.of("transformer\\.h\\.0\\..*")), GPT2));
        LoraConfig same = gpt2(ModuleSpec.names("transformer.h.0.attn.c_attn")).withExcludes(ModuleSpec.names("transformer.h.0.attn.c_attn"));
        assertEquals(Decision.EXCLUDED, new TargetMatcher(same).decide("transformer.h.0.attn.c_attn", true, false));
        LoraConfig attnOnly = LoraConfig.defaults("llama").withExcludes(ModuleSpec.names("layers.1.self_attn.v_proj"));
        assertEquals(3, targeted(attnOnly, LLAMA).size());
        assertEquals(List.of(), new TargetMatcher(LoraConfig.defaults("gpt2").withExcludes(ModuleSpec.names("c_attn"))).select(GPT2, "lm_head").targeted());
        assertEquals(2, targeted(LoraConfig.defaults("gpt2").withExcludes(ModuleSpec.of("")), GPT2).size(), "an empty regex excludes nothing");
    }

    @Test
    void modulesToSaveAndWhatIsInsideThemAreNeverTargeted() {
        LoraConfig c = LoraConfig.defaults("roberta").withTargets(ModuleSpec.names("dense")).withModulesToSave(List.of("classifier"));
        TargetMatcher m = new TargetMatcher(c);
        assertEquals(Decision.TARGETED, m.decide("roberta.encoder.layer.0.attention.output.dense", true, false));
        assertEquals(Decision.EXCLUDED, m.decide("classifier.dense", true, false));
        assertEquals(Decision.EXCLUDED, m.decide("classifier", false, false));
        assertEquals(Decision.UNMATCHED, m.decide("roberta.encoder.layer.0.attention.self.query", true, false));
        assertEquals(Decision.EXCLUDED, new TargetMatcher(llama(new ModuleSpec.AllLinear()).withModulesToSave(List.of("score")))
                .decide("score", true, false));
    }

    @Test
    void layersToTransformFiltersSuffixMatchesByLayerIndex() {
        LoraConfig one = LoraConfig.defaults("llama").withLayers(List.of(1), null);
        assertEquals(List.of("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), targeted(one, LLAMA));
        assertEquals(targeted(one, LLAMA), targeted(one.withLayers(List.of(1), List.of("layers")), LLAMA));
        assertEquals(List.of(), targeted(one.withLayers(List.of(1), List.of("h")), LLAMA), "no '.h.<n>.' in Llama paths");
        assertEquals(List.of("transformer.h.0.attn.c_attn"), targeted(LoraConfig.defaults("gpt2").withLayers(List.of(0), List.of("layers", "h")), GPT2));
        assertEquals(List.of("transformer.h.0.attn.c_attn"), targeted(LoraConfig.defaults("gpt2").withLayers(List.of(0), null), GPT2));
        assertEquals(2, targeted(LoraConfig.defaults("gpt2").withLayers(List.of(), null), GPT2).size(),
                "an empty layers_to_transform filters nothing");

        TargetMatcher bert = new TargetMatcher(LoraConfig.defaults("bert").withLayers(List.of(3), null));
        assertTrue(bert.matches("bert.encoder.layer.3.attention.self.query", true, false));
        assertFalse(bert.matches("bert.encoder.layer.30.attention.self.query", true, false));
        assertEquals(3, bert.layerIndex("bert.encoder.layer.3.attention.self.query"));
        assertFalse(new TargetMatcher(LoraConfig.defaults("bert").withLayers(List.of(3), List.of("layers")))
                .matches("bert.encoder.layer.3.attention.self.query", true, false), "'layers' is not 'layer'");

        TargetMatcher moe = new TargetMatcher(llama(ModuleSpec.names("up_proj")).withLayers(List.of(1), null));
        assertTrue(moe.matches("model.layers.1.mlp.experts.0.up_proj", true, false), "the first index is the layer, not the expert");
        assertFalse(moe.matches("model.layers.2.mlp.experts.1.up_proj", true, false));
    }

    @Test
    void layerFilterCornersFollowPeft() {
        TargetMatcher m = new TargetMatcher(LoraConfig.defaults("gpt2").withLayers(List.of(0), null));
        assertNull(m.layerIndex("h.0.attn.c_attn"), "the default pattern needs a dot before the layer list's name");
        assertFalse(m.matches("h.0.attn.c_attn", true, false), "no index found: not targeted");
        TargetMatcher exact = new TargetMatcher(gpt2(ModuleSpec.names("transformer.h.1.attn.c_attn", "lm_head")).withLayers(List.of(0), null));
        assertTrue(exact.matches("transformer.h.1.attn.c_attn", true, false), "an exact name skips the layer filter");
        assertTrue(exact.matches("lm_head", true, true));
    }

    @Test
    void aNamedNonLinearModuleIsAnError() {
        TargetMatcher m = new TargetMatcher(gpt2(ModuleSpec.names("attn")));
        Lora4jException e = assertThrows(Lora4jException.class, () -> m.decide("transformer.h.0.attn", false, false));
        assertTrue(e.getMessage().contains("transformer.h.0.attn") && e.getMessage().contains("not a linear layer"), e.getMessage());
        Lora4jException unset = assertThrows(Lora4jException.class, () -> new TargetMatcher(LoraConfig.peftDefaults()));
        assertTrue(unset.getMessage().contains("target_modules"), unset.getMessage());
    }

    @Test
    void nothingTargetedIsExplainedInPeftsThreeCases() {
        TargetMatcher typo = new TargetMatcher(gpt2(ModuleSpec.names("c_atn")));
        TargetMatcher.Selection s = typo.select(GPT2, "lm_head");
        assertTrue(s.targeted().isEmpty() && s.excluded().isEmpty() && s.unmatched().size() == 9);
        assertTrue(typo.explainNoMatch(s).contains("target_modules [c_atn] matched no module"), typo.explainNoMatch(s));

        TargetMatcher layers = new TargetMatcher(LoraConfig.defaults("llama").withLayers(List.of(7), null));
        assertTrue(layers.explainNoMatch(layers.select(LLAMA, "lm_head")).contains("layers_to_transform [7]"));

        TargetMatcher all = new TargetMatcher(gpt2(ModuleSpec.names("c_attn")).withExcludes(ModuleSpec.of(".*")));
        TargetMatcher.Selection allExcluded = all.select(GPT2, "lm_head");
        assertEquals(9, allExcluded.excluded().size());
        assertTrue(all.explainNoMatch(allExcluded).startsWith("all modules were excluded"), all.explainNoMatch(allExcluded));

        TargetMatcher mix = new TargetMatcher(LoraConfig.defaults("gpt2").withExcludes(ModuleSpec.names("c_attn")));
        TargetMatcher.Selection mixed = mix.select(GPT2, "lm_head");
        assertEquals(2, mixed.excluded().size());
        assertTrue(mix.explainNoMatch(mixed).contains("exclude_modules [c_attn]"), mix.explainNoMatch(mixed));
    }
}
