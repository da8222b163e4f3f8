package dev.lora4j.testing;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real llama.cpp as a test reference: npm {@code node-llama-cpp@3.21.1} (llama.cpp's prebuilt CPU binaries) run by
 * node on tools/llama-cpp/llama_eval.mjs. It is looked for in {@code $LORA4J_NODE_LLAMA_CPP} (a node_modules folder),
 * else {@code ~/.cache/lora4j/node-llama-cpp-3.21.1/node_modules}, where {@code .ci/run} installs it. When it is missing the
 * test fails, saying how to install it; only with {@code LORA4J_NO_LLAMA_CPP} set (a developer's choice) is it skipped.
 */
public final class LlamaCpp {
    public static final String PACKAGE = "node-llama-cpp@3.21.1";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private LlamaCpp() {}

    /** What llama.cpp returned: the ids of each text, and per sequence the probability of every token at every position. */
    public record Result(List<int[]> tokens, List<float[][]> probabilities) {}

    /** The node_modules folder holding node-llama-cpp, or the test is failed (skipped with LORA4J_NO_LLAMA_CPP). */
    public static Path modules() {
        String env = System.getenv("LORA4J_NODE_LLAMA_CPP");
        Path dir = env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "lora4j", "node-llama-cpp-3.21.1", "node_modules");
        if (Files.isDirectory(dir.resolve("node-llama-cpp")) && Files.isDirectory(dir.resolve("@node-llama-cpp/linux-x64"))) return dir;
        String how = "llama.cpp reference missing: " + dir + " has no node-llama-cpp; install it with\n  mkdir -p " + dir.getParent()
                + " && cd " + dir.getParent() + " && npm i -E --omit=optional " + PACKAGE + " @node-llama-cpp/linux-x64@3.21.1\n"
                + "(.ci/run does this), or set LORA4J_NO_LLAMA_CPP=1 to skip the llama.cpp comparisons";
        if (System.getenv("LORA4J_NO_LLAMA_CPP") != null) Assumptions.abort(how);
        return fail(how);
    }

    /**
     * Runs llama.cpp on {@code model} (with the LoRA adapter GGUF {@code lora} at scale 1, or none): tokenizes
     * {@code texts} (no special tokens) and evaluates each of {@code sequences} with an F32 KV cache.
     */
    public static Result run(Path model, Path lora, List<String> texts, List<int[]> sequences) throws IOException, InterruptedException {
        Path modules = modules();
        Path script = Path.of(System.getProperty("lora4j.testdata", "../testdata")).toAbsolutePath().normalize().resolveSibling("tools/llama-cpp/llama_eval.mjs");
        ObjectNode req = MAPPER.createObjectNode();
        req.put("model", model.toAbsolutePath().toString());
        if (lora != null) req.put("lora", lora.toAbsolutePath().toString());
        ArrayNode t = req.putArray("tokenize");
        texts.forEach(t::add);
        ArrayNode e = req.putArray("evaluate");
        for (int[] s : sequences) {
            ArrayNode a = e.addArray();
            for (int id : s) a.add(id);
        }
        Path request = Files.createTempFile("llama-eval", ".json");
        Path out = Files.createTempFile("llama-eval", ".out");
        try {
            Files.writeString(request, req.toString());
            ProcessBuilder pb = new ProcessBuilder("node", script.toString(), request.toString()).redirectErrorStream(false)
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("NODE_PATH", modules.toString());
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("llama.cpp (node " + script + ") ran longer than 120 s");
            }
            String json = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) fail("llama.cpp (node " + script + ") failed with status " + p.exitValue() + ": " + json);
            JsonNode root = MAPPER.readTree(json);
            List<int[]> tokens = new ArrayList<>();
            for (JsonNode ids : root.get("tokens")) tokens.add(TestData.ints(ids));
            List<float[][]> probs = new ArrayList<>();
            for (JsonNode seq : root.get("probabilities")) {
                float[][] s = new float[seq.size()][];
                for (int i = 0; i < s.length; i++) {
                    JsonNode row = seq.get(i);
                    s[i] = new float[row.size()];
                    for (int v = 0; v < s[i].length; v++) s[i][v] = (float) row.get(v).asDouble();
                }
                probs.add(s);
            }
            return new Result(tokens, probs);
        } finally {
            Files.deleteIfExists(request);
            Files.deleteIfExists(out);
        }
    }
}
