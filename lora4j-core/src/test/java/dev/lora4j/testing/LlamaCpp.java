package dev.lora4j.testing;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real llama.cpp as a test reference: npm {@code node-llama-cpp@3.21.1} (llama.cpp's prebuilt CPU binaries) run by
 * node on tools/llama-cpp/llama_eval.mjs. It is looked for in {@code $LORA4J_NODE_LLAMA_CPP} (a node_modules folder),
 * else {@code ~/.cache/lora4j/node-llama-cpp-3.21.1/node_modules}, where {@code .ci/run} installs it. When it is missing the
 * test fails, saying how to install it; only with {@code LORA4J_NO_LLAMA_CPP} set (a developer's choice) is it skipped.
 *
 * <p>The package ships one build of llama.cpp's CPU backend per x86 level and loads the best this CPU runs. The tests
 * compare against one of them everywhere, the Haswell build (AVX2, FMA, F16C; {@link #pinned}), whose Q8_0 quantization
 * of activations {@code QuantizedActivation} follows: on a Sapphire Rapids Xeon the best build there (with AMX) gave
 * tiny-qwen2's Q8_0 log-probabilities 0.31 off at one position of 56, where the Haswell build, the next best there and the
 * Zen 4 build agree with lora4j within 1e-5. (The benchmarks run llama.cpp's best build: tools/bench.)
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

    /** The CPU build the tests run. */
    static final String CPU_BUILD = "libggml-cpu-haswell.so";

    /**
     * A copy of {@code modules} (beside it, made once) whose prebuilt binaries hold {@link #CPU_BUILD} as the only CPU
     * backend, so that llama.cpp loads that one whatever the CPU. Made in a temporary folder and moved into place, so
     * a copy that exists is whole.
     */
    static Path pinned(Path modules) throws IOException {
        Path pinned = modules.resolveSibling("pinned-haswell").resolve("node_modules");
        if (Files.isDirectory(pinned)) return pinned;
        Path bins = Path.of("@node-llama-cpp", "linux-x64", "bins", "linux-x64");
        if (!Files.isRegularFile(modules.resolve(bins).resolve(CPU_BUILD))) fail("llama.cpp reference: no " + CPU_BUILD + " in " + modules.resolve(bins));
        Path tmp = Files.createTempDirectory(modules.getParent(), "pinned-");
        Path copy = tmp.resolve("node_modules");
        try (var files = Files.walk(modules)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path rel = modules.relativize(f), to = copy.resolve(rel.toString());
                String name = f.getFileName().toString();
                boolean otherBuild = rel.getParent() != null && rel.getParent().equals(bins) && name.startsWith("libggml-cpu-") && !name.equals(CPU_BUILD);
                if (otherBuild) continue;
                if (Files.isSymbolicLink(f)) Files.createSymbolicLink(to, Files.readSymbolicLink(f));
                else if (Files.isDirectory(f)) Files.createDirectories(to);
                else Files.copy(f, to, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        Files.createDirectories(pinned.getParent());
        try {
            Files.move(copy, pinned, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            // another test JVM made it first: the same copy
        }
        AtomicFiles.deleteRecursively(tmp);                 // empty, or the copy another JVM beat
        return pinned;
    }

    /**
     * Runs llama.cpp on {@code model} (with the LoRA adapter GGUF {@code lora} at scale 1, or none): tokenizes
     * {@code texts} (no special tokens) and evaluates each of {@code sequences} with an F32 KV cache.
     */
    public static Result run(Path model, Path lora, List<String> texts, List<int[]> sequences) throws IOException, InterruptedException {
        Path modules = pinned(modules());
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
