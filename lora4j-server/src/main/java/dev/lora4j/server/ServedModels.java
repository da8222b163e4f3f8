// The model ids a server answers to, as vLLM names them: the base (its directory's name, or --served-model-name) and
// each adapter by its name, with parent = the base's id and root = the adapter's path.
package dev.lora4j.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/** Thread-safe (the registry is). */
final class ServedModels {
    /** What a request's {@code model} names: the base, or an adapter over it (adapter null for the base). */
    record Target(String id, AdapterRegistry.Registration adapter) {}

    private final String baseId;
    private final Path basePath;
    private final int contextLength;
    private final AdapterRegistry registry;
    private final long created = System.currentTimeMillis() / 1000;

    ServedModels(String baseId, Path basePath, int contextLength, AdapterRegistry registry) {
        this.baseId = baseId;
        this.basePath = basePath;
        this.contextLength = contextLength;
        this.registry = registry;
    }

    String baseId() {
        return baseId;
    }

    /** The target of {@code model}; an unknown id is a 404. */
    Target resolve(String model) {
        if (model.equals(baseId)) return new Target(baseId, null);
        AdapterRegistry.Registration r = registry.get(model);
        if (r == null) throw new ApiError(ErrorKind.MODEL_NOT_FOUND, "The model '" + model + "' does not exist (GET /v1/models lists them)", "model");
        return new Target(model, r);
    }

    /** The body of GET /v1/models. */
    ObjectNode list() {
        ObjectNode root = HttpCall.JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        data.add(card(baseId, basePath.toString(), null));
        for (AdapterRegistry.Registration r : registry.all()) data.add(card(r.name(), r.path().toString(), baseId));
        return root;
    }

    private ObjectNode card(String id, String root, String parent) {
        ObjectNode m = HttpCall.JSON.createObjectNode();
        m.put("id", id);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "lora4j");
        m.put("root", root);
        if (parent == null) m.putNull("parent");
        else m.put("parent", parent);
        if (contextLength > 0) m.put("max_model_len", contextLength);
        return m;
    }
}
