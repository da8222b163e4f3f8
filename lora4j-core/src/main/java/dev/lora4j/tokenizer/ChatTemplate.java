package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.AutoCloseableSupplier.AutoCloseableImpl;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.tree.Node;
import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import dev.lora4j.io.gguf.GgufFile;
import dev.lora4j.io.gguf.GgufValueType;
import dev.lora4j.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: the Jinja {@code chat_template} of its {@code tokenizer_config.json} (a string, or
 * a list of {@code {name, template}}), or its {@code chat_template.jinja}, which transformers prefers. Renders
 * as HF transformers' {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)} does
 * (see {@link HfJinja}), with the special tokens the template names; {@link #renderForTraining} also finds
 * the characters of each assistant turn, for assistant-only loss as TRL's {@code assistant_only_loss}.
 */
public final class ChatTemplate {
    private static final List<String> SPECIAL_TOKENS =
            List.of("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token");

    private static final Jinjava JINJA = HfJinja.environment(); // thread-safe once configured

    private final Node root;
    private final Map<String, String> specialTokens;
    private final String source;

    /**
     * A template given as text, parsed here; {@code specialTokens} are template variables such as
     * {@code bos_token}; {@code source} names the template in error messages (its file).
     */
    public ChatTemplate(String template, Map<String, String> specialTokens, String source) {
        this.source = source;
        this.specialTokens = Map.copyOf(specialTokens);
        JinjavaInterpreter parser = interpreter(Map.of());
        this.root = parser.parse(template);
        check(parser.getErrors());
    }

    /** A fresh interpreter over the shared environment (what Jinjava.render does, less copying every filter and tag). */
    private static JinjavaInterpreter interpreter(Map<String, Object> vars) {
        return new JinjavaInterpreter(JINJA, new Context(JINJA.getGlobalContext(), vars, JINJA.getGlobalConfig().getDisabled()), JINJA.getGlobalConfig());
    }

    /** The default chat template of the model directory {@code dir}. */
    public static ChatTemplate load(Path dir) {
        return load(dir, "default");
    }

    /** The chat template called {@code name} ("default" for the model's default) of the model directory {@code dir}. */
    public static ChatTemplate load(Path dir, String name) {
        if (GgufFile.isGguf(dir)) return ggufTemplate(dir, name);
        Path config = dir.resolve("tokenizer_config.json");
        if (Files.notExists(config, LinkOption.NOFOLLOW_LINKS)) {
            throw new Lora4jException(config + ": not found (the chat template and its special tokens are read from a Hugging Face tokenizer_config.json)");
        }
        JsonNode root = Json.readObject(config, "tokenizer config");
        try {
            Map<String, String> tokens = new LinkedHashMap<>();
            for (String key : SPECIAL_TOKENS) {
                String token = token(config, key, root.get(key));
                if (token != null) tokens.put(key, token);
            }
            Path jinjaFile = dir.resolve("chat_template.jinja");
            if (name.equals("default") && Files.exists(jinjaFile, LinkOption.NOFOLLOW_LINKS)) {
                return new ChatTemplate(Files.readString(InputFile.requireRegular(jinjaFile, "a Jinja template file")), tokens, jinjaFile.toString());
            }
            return new ChatTemplate(template(config, root.get("chat_template"), name), tokens, config.toString());
        } catch (IOException e) {
            throw new Lora4jException(dir.resolve("chat_template.jinja") + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A GGUF file's {@code tokenizer.chat_template} (or {@code tokenizer.chat_template.NAME}), with its bos and eos tokens. */
    private static ChatTemplate ggufTemplate(Path file, String name) {
        try (GgufFile gguf = GgufFile.open(file)) {
            String key = name.equals("default") ? "tokenizer.chat_template" : "tokenizer.chat_template." + name;
            if (!gguf.has(key)) throw new Lora4jException(file + ": no " + key + " (this model has no chat template, which \"messages\" data needs)");
            List<?> tokens = gguf.array("tokenizer.ggml.tokens", GgufValueType.STRING);
            Map<String, String> special = new LinkedHashMap<>();
            for (String t : List.of("bos", "eos", "unknown", "padding")) {
                String k = "tokenizer.ggml." + t + "_token_id";
                if (gguf.has(k)) special.put((t.equals("unknown") ? "unk" : t.equals("padding") ? "pad" : t) + "_token", (String) tokens.get((int) gguf.integer(k, 0, tokens.size() - 1)));
            }
            return new ChatTemplate(gguf.string(key), special, file + " (" + key + ")");
        }
    }

    private static String token(Path config, String key, JsonNode value) {
        if (value == null || value.isNull()) return null;
        if (value.isTextual()) return value.asText();
        if (value.path("content").isTextual()) return value.get("content").asText(); // an AddedToken object
        throw new Lora4jException(config + ": \"" + key + "\" is " + value + ", expected a string or an object with \"content\"");
    }

    private static String template(Path config, JsonNode value, String name) {
        if (value == null || value.isNull()) {
            throw new Lora4jException(config + ": no \"chat_template\" (this model has no chat template, which \"messages\" data needs;"
                    + " use the tokenizer_config.json of the model's instruct version)");
        }
        if (value.isTextual()) {
            if (!name.equals("default")) throw new Lora4jException(config + ": has one chat template, not one named \"" + name + "\"");
            return value.asText();
        }
        if (!value.isArray()) throw new Lora4jException(config + ": \"chat_template\" must be a string or a list of {\"name\", \"template\"}");
        List<String> names = new ArrayList<>();
        for (JsonNode entry : value) {
            if (!entry.path("name").isTextual() || !entry.path("template").isTextual()) {
                throw new Lora4jException(config + ": \"chat_template\" entry " + entry + " needs \"name\" and \"template\" strings");
            }
            if (entry.get("name").asText().equals(name)) return entry.get("template").asText();
            names.add(entry.get("name").asText());
        }
        throw new Lora4jException(config + ": no chat template named \"" + name + "\" (it has " + String.join(", ", names) + ")");
    }

    /** Where the template came from (for messages). */
    public String source() {
        return source;
    }

    /** The special tokens given to the template: {@code bos_token}, {@code eos_token}, ... when the model defines them. */
    public Map<String, String> specialTokens() {
        return specialTokens;
    }

    /**
     * The text of {@code messages} (maps with at least "role" and "content"), followed by the header of a new
     * assistant turn when {@code addGenerationPrompt}; what {@code apply_chat_template(tokenize=False)} returns.
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt) {
        Map<String, Object> vars = new HashMap<>(specialTokens);
        vars.put("messages", messages);
        vars.put("add_generation_prompt", addGenerationPrompt);
        JinjavaInterpreter interpreter = interpreter(vars);
        String text;
        try (AutoCloseableImpl<JinjavaInterpreter> current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            text = interpreter.render(root, true);
        } catch (RuntimeException e) {
            throw error(e, e.getMessage());
        }
        check(interpreter.getErrors());
        return text;
    }

    private void check(List<TemplateError> errors) {
        for (TemplateError e : errors) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) throw error(e.getException(), "template line " + e.getLineno() + ": " + e.getMessage());
        }
    }

    private Lora4jException error(Throwable cause, String message) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof HfJinja.Raised raised) return new Lora4jException(source + ": the chat template raised: " + raised.getMessage());
        }
        if (message != null && message.contains(OutputTooBigException.class.getSimpleName())) {
            return new Lora4jException(source + ": the chat template's output (or a string it builds) exceeds the limit of "
                    + String.format("%,d", HfJinja.MAX_CHARS) + " characters", cause);
        }
        return new Lora4jException(source + ": chat template error (" + message + ")", cause);
    }

    /** Characters {@code [start, end)} of a rendered conversation. */
    public record Span(int start, int end) {}

    /** A conversation rendered for training, and the spans of its assistant turns in order. */
    public record Rendered(String text, List<Span> assistant) {}

    /**
     * Renders {@code messages} without a generation prompt and locates each assistant turn by rendering
     * prefixes: its span starts where {@code messages[0..i)} with the generation prompt ends (the assistant
     * header is prompt) and ends where {@code messages[0..i]} ends, less trailing whitespace, so it holds the
     * content and the end-of-turn marker the template puts after it (as TRL's training templates wrap them in
     * {@code {% generation %}}). Templates that rewrite earlier turns as the conversation grows are refused.
     */
    public Rendered renderForTraining(List<? extends Map<String, ?>> messages) {
        String text = render(messages, false);
        List<Span> spans = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!"assistant".equals(messages.get(i).get("role"))) continue;
            String prompt = render(messages.subList(0, i), true);
            String through = render(messages.subList(0, i + 1), false);
            if (!through.startsWith(prompt) || !text.startsWith(through)) {
                throw new Lora4jException(source + ": messages 0.." + (i - 1) + " with the generation prompt, messages 0.." + i
                        + " and the whole conversation do not render to growing prefixes (the chat template rewrites earlier turns, or its"
                        + " generation prompt is not how it starts an assistant turn), so assistant message " + i
                        + " cannot be located for assistant-only loss");
            }
            int end = through.length();
            while (end > prompt.length() && Character.isWhitespace(through.charAt(end - 1))) end--;
            spans.add(new Span(prompt.length(), end));
        }
        return new Rendered(text, List.copyOf(spans));
    }
}
