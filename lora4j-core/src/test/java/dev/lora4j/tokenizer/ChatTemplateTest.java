package dev.lora4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real chat templates (testdata/chat/, copied from the models' tokenizer_config.json) against the strings HF
 * transformers' apply_chat_template produces, derived by hand from each template's logic; the Jinja features
 * transformers adds; the assistant spans used for assistant-only loss.
 */
class ChatTemplateTest {
    private static final List<Map<String, String>> CHAT = List.of(
            Map.of("role", "system", "content", "You are a pirate."),
            Map.of("role", "user", "content", "Hello"),
            Map.of("role", "assistant", "content", "  Ahoy, matey!  "),
            Map.of("role", "user", "content", "Where is the treasure?"));
    private static final List<Map<String, String>> TRAINING = append(CHAT, Map.of("role", "assistant", "content", "Under the palm."));

    @TempDir
    Path tmp;

    private static ChatTemplate chat(String model) {
        return ChatTemplate.load(TestData.dir("chat").resolve(model));
    }

    @Test
    void llama3Instruct() {
        ChatTemplate t = chat("llama3-instruct");
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a pirate.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nAhoy, matey!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhere is the treasure?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(CHAT, true));
        assertEquals(List.of("Ahoy, matey!<|eot_id|>", "Under the palm.<|eot_id|>"), assistantTexts(t));
    }

    @Test
    void qwen2InstructChatMl() {
        ChatTemplate t = chat("qwen2-instruct");
        assertEquals("<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\n  Ahoy, matey!  <|im_end|>\n<|im_start|>user\nWhere is the treasure?<|im_end|>\n"
                + "<|im_start|>assistant\n", t.render(CHAT, true));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\n  Ahoy, matey!  <|im_end|>\n<|im_start|>user\nWhere is the treasure?<|im_end|>\n",
                t.render(CHAT.subList(1, 4), false), "the default system message when none is given");
        assertEquals(List.of("  Ahoy, matey!  <|im_end|>", "Under the palm.<|im_end|>"), assistantTexts(t));
        assertEquals(Map.of("eos_token", "<|im_end|>"), t.specialTokens(), "\"bos_token\": null is no token");
    }

    @Test
    void mistralInstruct() {
        ChatTemplate t = chat("mistral-instruct");
        String expected = "<s> [INST] You are a pirate.\n\nHello [/INST]   Ahoy, matey!  </s> [INST] Where is the treasure? [/INST]";
        assertEquals(expected, t.render(CHAT, true));
        assertEquals(expected, t.render(CHAT, false), "this template has no generation prompt");
        assertEquals(List.of("   Ahoy, matey!  </s>", " Under the palm.</s>"), assistantTexts(t));
        assertError(() -> t.render(List.of(CHAT.get(1), CHAT.get(1)), false),
                "mistral-instruct/tokenizer_config.json", "raised", "conversation roles must alternate user/assistant");
    }

    @Test
    void zephyr() {
        ChatTemplate t = chat("zephyr");
        assertEquals("<|system|>\nYou are a pirate.</s>\n<|user|>\nHello</s>\n<|assistant|>\n  Ahoy, matey!  </s>\n"
                + "<|user|>\nWhere is the treasure?</s>\n<|assistant|>\n", t.render(CHAT, true));
        assertEquals(List.of("  Ahoy, matey!  </s>", "Under the palm.</s>"), assistantTexts(t), "the newline after </s> is the next turn's");
    }

    private static List<String> assistantTexts(ChatTemplate t) {
        ChatTemplate.Rendered r = t.renderForTraining(TRAINING);
        assertEquals(t.render(TRAINING, false), r.text());
        return r.assistant().stream().map(s -> r.text().substring(s.start(), s.end())).toList();
    }

    @Test
    void transformersJinjaExtras() {
        Map<String, Object> tool = new java.util.LinkedHashMap<>();
        tool.put("name", "get_weather");
        tool.put("parameters", Map.of("unit", List.of("°C", 1, 2.5, 1e-5, true)));
        tool.put("strict", null);
        String json = render("{{ messages[0] | tojson }}|{{ messages[0] | tojson(indent=2) }}", List.of(tool));
        assertEquals("{\"name\": \"get_weather\", \"parameters\": {\"unit\": [\"°C\", 1, 2.5, 1e-05, true]}, \"strict\": null}|"
                + "{\n  \"name\": \"get_weather\",\n  \"parameters\": {\n    \"unit\": [\n      \"°C\",\n      1,\n      2.5,\n      1e-05,\n"
                + "      true\n    ]\n  },\n  \"strict\": null\n}", json, "Python's json.dumps layout");
        assertEquals("ab", render("{% for m in messages %}{% if m.content == 'skip' %}{% continue %}{% endif %}"
                + "{% if m.content == 'stop' %}{% break %}{% endif %}{{ m.content }}{% endfor %}",
                List.of(Map.of("content", "a"), Map.of("content", "skip"), Map.of("content", "b"), Map.of("content", "stop"), Map.of("content", "c"))));
        assertTrue(render("{{ strftime_now('%d %b %Y') }}", List.of()).matches("\\d\\d [A-Z][a-z]{2} \\d{4}"));
        assertEquals("true", render("{{ strftime_now is defined and raise_exception is defined }}", List.of()), "Llama 3.2 asks");
        assertEquals("[x]", render("{% generation %}[{{ messages[0].content }}]{% endgeneration %}", List.of(Map.of("content", "x"))));
        assertEquals("x\n  y\n", render("{% if true %}\nx\n  {% if true %}\n  y\n  {% endif %}\n{% endif %}\n", List.of()),
                "trim_blocks and lstrip_blocks");
        assertEquals("XaXbE", render("{%- for m in messages %}\n    {{- 'X' + m.content }}\n  {#- note #}\n{%- endfor %}\n\n{{- 'E' -}}  \n",
                List.of(Map.of("content", "a"), Map.of("content", "b"))), "whitespace control on expressions and comments");
        assertError(() -> render("{% if messages %}x", List.of()), "inline.jinja", "template line 1");
        assertError(() -> render("{{ raise_exception('no tools here') }}", List.of()), "inline.jinja", "raised: no tools here");
    }

    private static String render(String template, List<? extends Map<String, ?>> messages) {
        return new ChatTemplate(template, Map.of(), "inline.jinja").render(messages, false);
    }

    @Test
    void namedTemplatesAddedTokensAndJinjaFile() throws IOException {
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": {"content": "</s>"},
                 "chat_template": [{"name": "default", "template": "{{ bos_token }}D{{ eos_token }}"},
                                   {"name": "tool_use", "template": "T"}]}
                """);
        assertEquals("<s>D</s>", ChatTemplate.load(tmp).render(List.of(), false));
        assertEquals("T", ChatTemplate.load(tmp, "tool_use").render(List.of(), false));
        assertError(() -> ChatTemplate.load(tmp, "rag"), "tokenizer_config.json", "no chat template named \"rag\"", "default, tool_use");
        Files.writeString(tmp.resolve("chat_template.jinja"), "J{{ eos_token }}");
        ChatTemplate jinja = ChatTemplate.load(tmp);
        assertEquals("J</s>", jinja.render(List.of(), false));
        assertTrue(jinja.source().endsWith("chat_template.jinja"));
    }

    @Test
    void modelsWithoutChatTemplateAreNamed() throws IOException {
        assertError(() -> ChatTemplate.load(tmp), "tokenizer_config.json", "not found");
        assertError(() -> ChatTemplate.load(TestData.dir("gpt2-tiny")), "gpt2-tiny", "tokenizer_config.json", "no \"chat_template\"");
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"chat_template\": \"x\", \"eos_token\": 2}");
        assertError(() -> ChatTemplate.load(tmp), "tokenizer_config.json", "\"eos_token\" is 2");
    }

    @Test
    void templatesThatRewriteEarlierTurnsAreRefused() {
        ChatTemplate lastUserGetsSystem = new ChatTemplate("{% for m in messages %}{% if loop.last %}[last]{% endif %}{{ m.content }}{% endfor %}",
                Map.of(), "rewrites.jinja");
        assertError(() -> lastUserGetsSystem.renderForTraining(TRAINING), "rewrites.jinja", "assistant message 2 cannot be located");
    }

    private static List<Map<String, String>> append(List<Map<String, String>> messages, Map<String, String> message) {
        List<Map<String, String>> out = new ArrayList<>(messages);
        out.add(message);
        return List.copyOf(out);
    }

    private static void assertError(Executable r, String... parts) {
        String msg = assertThrows(Lora4jException.class, r).getMessage();
        for (String p : parts) assertTrue(msg.contains(p), "'" + p + "' missing from: " + msg);
    }

    @Test
    void aTemplateWhoseOutputExplodesIsStoppedWithAnError() {
        List<Map<String, String>> long_ = List.of(Map.of("role", "user", "content", "x".repeat(1_000_000)));
        for (String template : List.of(
                "{% set s = 'ab' %}{% for i in range(30) %}{% set s = s ~ s %}{% endfor %}{{ s }}",     // a 2 GB string, never printed whole
                "{% for i in range(1000) %}{% for j in range(1000) %}{{ messages[0].content }}{% endfor %}{% endfor %}")) {   // 1 TB printed
            ChatTemplate t = new ChatTemplate(template, Map.of(), "bomb.jinja");
            String msg = assertThrows(Lora4jException.class, () -> t.render(long_, false)).getMessage();
            assertEquals("bomb.jinja: the chat template's output (or a string it builds) exceeds the limit of 16,777,216 characters", msg);
        }
    }
}
