// POST /v1/completions and /v1/chat/completions with the request and response bodies of OpenAI's API (and vLLM's
// top_k): the prompt (a chat through the model's chat template) is queued on the engine; the tokens come back as one
// response, or as server-sent events ending with "data: [DONE]" when "stream" is true.
package dev.lora4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.generate.Sampler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Stateless; one call per request, on the request's thread. */
final class CompletionsEndpoint {
    /** The two endpoints' names for the same things. */
    enum Kind {
        COMPLETION("cmpl-", "text_completion", "text_completion"),
        CHAT("chatcmpl-", "chat.completion", "chat.completion.chunk");

        final String idPrefix;
        final String object;
        final String chunkObject;

        Kind(String idPrefix, String object, String chunkObject) {
            this.idPrefix = idPrefix;
            this.object = object;
            this.chunkObject = chunkObject;
        }
    }

    /** What the request asked for, checked. */
    private record Request(ServedModels.Target target, int[] prompt, Sampler sampler, int maxTokens, List<String> stops,
                           boolean stream, boolean includeUsage) {}

    private final GenerationService generation;
    private final ServedModels models;
    private final Metrics metrics;

    CompletionsEndpoint(GenerationService generation, ServedModels models, Metrics metrics) {
        this.generation = generation;
        this.models = models;
        this.metrics = metrics;
    }

    void handle(HttpCall call, Kind kind) throws IOException {
        Request r = parse(new Fields(call.readJson()), kind);
        metrics.promptTokens(r.prompt.length);
        Generation g = generation.submit(r.prompt, r.target.adapter(), r.sampler, r.maxTokens);
        TextOutput out = new TextOutput(generation::decode, r.stops);
        String id = kind.idPrefix + HexFormat.of().formatHex(randomBytes());
        long created = System.currentTimeMillis() / 1000;
        if (r.stream) stream(call, kind, r, g, out, id, created);
        else whole(call, kind, r, g, out, id, created);
    }

    private void whole(HttpCall call, Kind kind, Request r, Generation g, TextOutput out, String id, long created) throws IOException {
        int tokens = 0;
        Generation.Finish finish;
        while (true) {
            Generation.Event e = next(g);
            if (e instanceof Generation.Token t) {
                tokens++;
                out.add(t.id());
                if (out.stopped()) {
                    g.cancel();
                    finish = Generation.Finish.STOP;
                    break;
                }
            } else if (e instanceof Generation.Finished f) {
                out.finish();
                finish = f.reason();
                break;
            } else {
                throw new ApiError(ErrorKind.INTERNAL, ((Generation.Failed) e).message());
            }
        }
        ObjectNode body = head(kind.object, id, created, r.target.id());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", out.text());
        } else {
            choice.put("text", out.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finish.openAi);
        body.set("usage", usage(r.prompt.length, tokens));
        call.send(200, body);
    }

    private void stream(HttpCall call, Kind kind, Request r, Generation g, TextOutput out, String id, long created) throws IOException {
        EventStream events = call.startEvents();
        int tokens = 0;
        try (events) {
            if (kind == Kind.CHAT) {
                ObjectNode delta = HttpCall.JSON.createObjectNode();
                delta.put("role", "assistant");
                delta.put("content", "");
                events.send(chunk(kind, r, id, created, delta, null));
            }
            while (true) {
                Generation.Event e = next(g);
                String piece;
                Generation.Finish finish = null;
                if (e instanceof Generation.Token t) {
                    tokens++;
                    piece = out.add(t.id());
                    if (out.stopped()) {
                        g.cancel();
                        finish = Generation.Finish.STOP;
                    }
                } else if (e instanceof Generation.Finished f) {
                    piece = out.finish();
                    finish = f.reason();
                } else {
                    events.send(HttpCall.errorBody(new ApiError(ErrorKind.INTERNAL, ((Generation.Failed) e).message())));
                    events.done();
                    return;
                }
                if (!piece.isEmpty()) events.send(chunk(kind, r, id, created, text(kind, piece), null));
                if (finish != null) {
                    events.send(chunk(kind, r, id, created, kind == Kind.CHAT ? HttpCall.JSON.createObjectNode() : text(kind, ""), finish));
                    if (r.includeUsage) {
                        ObjectNode last = head(kind.chunkObject, id, created, r.target.id());
                        last.putArray("choices");
                        last.set("usage", usage(r.prompt.length, tokens));
                        events.send(last);
                    }
                    events.done();
                    return;
                }
            }
        } catch (IOException e) {
            g.cancel();                 // the client went away: its slot is freed at the next step
            throw new ClientGone(e);
        }
    }

    /** The client closed the connection while its stream was being written. */
    static final class ClientGone extends IOException {
        ClientGone(IOException cause) {
            super("the client closed the connection", cause);
        }
    }

    private static Generation.Event next(Generation g) {
        try {
            return g.events.take();
        } catch (InterruptedException e) {
            g.cancel();
            Thread.currentThread().interrupt();
            throw new ApiError(ErrorKind.SHUTTING_DOWN, "the server is shutting down");
        }
    }

    private ObjectNode chunk(Kind kind, Request r, String id, long created, ObjectNode content, Generation.Finish finish) {
        ObjectNode c = head(kind.chunkObject, id, created, r.target.id());
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) choice.set("delta", content);
        else choice.setAll(content);
        choice.putNull("logprobs");
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish.openAi);
        if (r.includeUsage) c.putNull("usage");
        return c;
    }

    private static ObjectNode text(Kind kind, String piece) {
        ObjectNode o = HttpCall.JSON.createObjectNode();
        o.put(kind == Kind.CHAT ? "content" : "text", piece);
        return o;
    }

    private static ObjectNode head(String object, String id, long created, String model) {
        ObjectNode o = HttpCall.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        return o;
    }

    private static ObjectNode usage(int prompt, int completion) {
        ObjectNode u = HttpCall.JSON.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private Request parse(Fields f, Kind kind) {
        ServedModels.Target target = models.resolve(f.requiredString("model"));
        int[] prompt = kind == Kind.CHAT ? generation.encode(generation.chatPrompt(messages(f))) : prompt(f);
        f.integer("n", 1, 1, 1);
        f.unsupported("best_of", n -> n.isIntegralNumber() && n.asInt() == 1, "only best_of = 1");
        f.unsupported("echo", n -> n.isBoolean() && !n.asBoolean(), "echo is always false");
        f.unsupported("suffix", n -> n.isTextual() && n.asText().isEmpty(), "no suffix");
        f.unsupported("logprobs", n -> n.isBoolean() && !n.asBoolean(), "no log probabilities");
        f.unsupported("top_logprobs", n -> n.isIntegralNumber() && n.asInt() == 0, "no log probabilities");
        f.unsupported("presence_penalty", n -> n.isNumber() && n.asDouble() == 0, "only 0");
        f.unsupported("frequency_penalty", n -> n.isNumber() && n.asDouble() == 0, "only 0");
        f.unsupported("logit_bias", n -> n.isObject() && n.isEmpty(), "no logit bias");
        f.unsupported("tools", n -> n.isArray() && n.isEmpty(), "no tool calls");
        f.unsupported("response_format", n -> n.isObject() && "text".equals(n.path("type").asText()), "text only");
        float temperature = (float) f.number("temperature", 1.0, 0, 2);
        float topP = (float) f.number("top_p", 1.0, 0, 1);
        if (topP == 0f) throw Fields.bad("top_p", "'top_p' must be above 0");
        int topK = (int) f.integer("top_k", 0, -1, Integer.MAX_VALUE);
        long seed = f.has("seed") ? f.integer("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE) : ThreadLocalRandom.current().nextLong();
        List<String> stops = f.strings("stop", 4);
        boolean stream = f.bool("stream", false);
        boolean includeUsage = false;
        JsonNode options = f.get("stream_options");
        if (options != null) {
            if (!options.isObject()) throw Fields.wrongType("stream_options", options, "an object");
            includeUsage = new Fields((ObjectNode) options).bool("include_usage", false);
        }
        String maxField = kind == Kind.CHAT && f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        long asked = f.integer(maxField, 0, 1, Integer.MAX_VALUE);
        int P = prompt.length, N = generation.contextLength();
        if (P == 0) throw Fields.bad(kind == Kind.CHAT ? "messages" : "prompt", "the prompt is empty: at least one token is needed");
        if (P >= N) {
            throw new ApiError(ErrorKind.CONTEXT_LENGTH, "This model's maximum context length is " + N + " tokens. However, your prompt has "
                    + P + " tokens, which leaves no room to generate.", kind == Kind.CHAT ? "messages" : "prompt");
        }
        int maxTokens = asked > 0 ? (int) asked : kind == Kind.CHAT ? N - P : Math.min(16, N - P);
        if ((long) P + maxTokens > N) {
            throw new ApiError(ErrorKind.CONTEXT_LENGTH, "This model's maximum context length is " + N + " tokens. However, you requested "
                    + ((long) P + maxTokens) + " tokens (" + P + " in the prompt, " + maxTokens + " in the completion). Please reduce the"
                    + " prompt or " + maxField + ".", maxField);
        }
        return new Request(target, prompt, new Sampler(temperature, topK == -1 ? 0 : topK, topP, seed), maxTokens, stops, stream, includeUsage);
    }

    /** "prompt": a string, or one prompt as a list of one string, a list of token ids, or a list of one such list. */
    private int[] prompt(Fields f) {
        JsonNode p = f.get("prompt");
        if (p == null) throw Fields.bad("prompt", "'prompt' is required");
        if (p.isTextual()) return generation.encode(p.asText());
        if (p.isArray() && p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray())) {
            return p.get(0).isTextual() ? generation.encode(p.get(0).asText()) : tokenIds(p.get(0));
        }
        if (p.isArray() && (p.isEmpty() || p.get(0).isNumber())) return tokenIds(p);
        throw Fields.bad("prompt", "'prompt' must be a string, a list of token ids, or a list of one of them (one prompt per request)");
    }

    private int[] tokenIds(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode n = array.get(i);
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0 || n.asInt() >= generation.vocabSize()) {
                throw Fields.bad("prompt", "'prompt' token " + i + " is " + n + ", expected a token id in [0, " + generation.vocabSize() + ")");
            }
            ids[i] = n.asInt();
        }
        return ids;
    }

    /** "messages": a non-empty list of {role, content}, content a string or a list of text parts. */
    private static List<Map<String, Object>> messages(Fields f) {
        JsonNode list = f.get("messages");
        if (list == null) throw Fields.bad("messages", "'messages' is required");
        if (!list.isArray() || list.isEmpty()) throw Fields.wrongType("messages", list, "a non-empty list of messages");
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw Fields.wrongType(where, m, "an object with 'role' and 'content'");
            JsonNode role = m.get("role"), content = m.get("content");
            if (role == null || !role.isTextual()) throw Fields.wrongType(where + ".role", role, "a string");
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", role.asText());
            message.put("content", content(content, where + ".content"));
            out.add(message);
        }
        return out;
    }

    private static String content(JsonNode content, String where) {
        if (content == null || content.isNull()) return "";
        if (content.isTextual()) return content.asText();
        if (!content.isArray()) throw Fields.wrongType(where, content, "a string or a list of text parts");
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw Fields.bad(where, "'" + where + "' parts must be {\"type\": \"text\", \"text\": ...} (this model reads text only)");
            }
            sb.append(part.get("text").asText());
        }
        return sb.toString();
    }
}
