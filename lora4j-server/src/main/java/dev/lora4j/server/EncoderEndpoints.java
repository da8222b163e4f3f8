// POST /v1/embeddings (OpenAI's request and response, "float" or "base64" encoding) and POST /v1/classify (vLLM's:
// per text its label and every label's probability) over the encoder backend.
package dev.lora4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.inference.TextClassifier;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Stateless; one call per request. */
final class EncoderEndpoints {
    private static final int MAX_INPUTS = 2048;
    private final EncoderService encoder;
    private final ServedModels models;

    EncoderEndpoints(EncoderService encoder, ServedModels models) {
        this.encoder = encoder;
        this.models = models;
    }

    void embeddings(HttpCall call) throws IOException {
        Fields f = new Fields(call.readJson());
        ServedModels.Target target = models.resolve(f.requiredString("model"));
        List<String> texts = inputs(f);
        String format = f.string("encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64")) throw Fields.bad("encoding_format", "'encoding_format' must be \"float\" or \"base64\", got \"" + format + "\"");
        float[][] vectors = encoder.embed(target.adapter(), texts);
        if (f.has("dimensions") && f.integer("dimensions", 0, 1, Integer.MAX_VALUE) != vectors[0].length) {
            throw Fields.bad("dimensions", "this model's embeddings have " + vectors[0].length + " dimensions; it cannot shorten them");
        }
        ObjectNode body = HttpCall.JSON.createObjectNode();
        body.put("object", "list");
        ArrayNode data = body.putArray("data");
        for (int i = 0; i < vectors.length; i++) {
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            e.put("index", i);
            if (format.equals("base64")) {
                ByteBuffer bytes = ByteBuffer.allocate(4 * vectors[i].length).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : vectors[i]) bytes.putFloat(v);
                e.put("embedding", Base64.getEncoder().encodeToString(bytes.array()));
            } else {
                ArrayNode values = e.putArray("embedding");
                for (float v : vectors[i]) values.add(v);
            }
        }
        body.put("model", target.id());
        body.set("usage", usage(texts, false));
        call.send(200, body);
    }

    void classify(HttpCall call) throws IOException {
        Fields f = new Fields(call.readJson());
        ServedModels.Target target = models.resolve(f.requiredString("model"));
        List<String> texts = inputs(f);
        List<TextClassifier.Prediction> predictions = encoder.classify(target.adapter(), texts);
        ObjectNode body = HttpCall.JSON.createObjectNode();
        byte[] id = new byte[12];
        ThreadLocalRandom.current().nextBytes(id);
        body.put("id", "classify-" + HexFormat.of().formatHex(id));
        body.put("object", "list");
        body.put("created", System.currentTimeMillis() / 1000);
        body.put("model", target.id());
        ArrayNode data = body.putArray("data");
        for (int i = 0; i < predictions.size(); i++) {
            TextClassifier.Prediction p = predictions.get(i);
            ObjectNode d = data.addObject();
            d.put("index", i);
            d.put("label", p.label());
            ArrayNode probs = d.putArray("probs");
            p.probabilities().values().forEach(probs::add);
            d.put("num_classes", p.probabilities().size());
        }
        body.set("usage", usage(texts, true));
        call.send(200, body);
    }

    /** "input": a string or a non-empty list of up to 2048 strings. */
    private static List<String> inputs(Fields f) {
        JsonNode in = f.get("input");
        if (in == null) throw Fields.bad("input", "'input' is required");
        List<String> texts = new ArrayList<>();
        if (in.isTextual()) {
            texts.add(in.asText());
        } else if (in.isArray() && !in.isEmpty() && in.size() <= MAX_INPUTS) {
            for (JsonNode t : in) {
                if (!t.isTextual()) throw Fields.bad("input", "'input' must hold strings (token ids are not accepted here), got " + dev.lora4j.io.Json.describe(t));
                texts.add(t.asText());
            }
        } else {
            throw Fields.bad("input", "'input' must be a string or a list of 1 to " + MAX_INPUTS + " strings");
        }
        return texts;
    }

    private ObjectNode usage(List<String> texts, boolean completion) {
        int n = 0;
        for (String t : texts) n += encoder.tokens(t);
        ObjectNode u = HttpCall.JSON.createObjectNode();
        u.put("prompt_tokens", n);
        u.put("total_tokens", n);
        if (completion) u.put("completion_tokens", 0);
        return u;
    }
}
