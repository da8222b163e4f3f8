// The official `openai` npm package (a client OpenAI itself maintains) against lora4j serve: models, a greedy
// completion, a streamed chat with usage, a 404 as the SDK reports it, and embeddings (which it asks for as base64).
// The package is installed from the npm registry into ~/.cache/lora4j/ on first use.
package dev.lora4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.inference.TextEmbedder;
import dev.lora4j.tokenizer.ChatTemplate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class NodeOpenAiClientTest {
    static final String OPENAI_VERSION = "7.55.0";

    /** A folder holding node_modules/openai at {@link #OPENAI_VERSION}, installed with npm if it is not there yet. */
    static Path openAiPackage() throws Exception {
        Path dir = Path.of(System.getProperty("user.home"), ".cache", "lora4j", "npm-openai-" + OPENAI_VERSION);
        if (!Files.isRegularFile(dir.resolve("node_modules/openai/package.json"))) {
            Files.createDirectories(dir);
            run(dir, 300, "npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir.toString(), "openai@" + OPENAI_VERSION);
        }
        return dir;
    }

    static String run(Path dir, int seconds, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": timed out");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + text);
        return text;
    }

    @Test
    void theOfficialNodeClientWorksUnchanged() throws Exception {
        Path pkg = openAiPackage();
        Path script = pkg.resolve("openai-client.mjs");
        Files.copy(Path.of("src/test/node/openai-client.mjs"), script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (LoraServer decoder = LoraServer.start(Fixtures.config().build());
             LoraServer encoder = LoraServer.start(ServeConfig.builder(Fixtures.testdata("bert-tiny")).port(0).build());
             TextEmbedder reference = TextEmbedder.load(Fixtures.testdata("bert-tiny"))) {
            String output = run(pkg, 120, "node", script.toString(), "http://127.0.0.1:" + decoder.port() + "/v1", "a3",
                    "http://127.0.0.1:" + encoder.port() + "/v1", encoder.baseModelId());
            JsonNode out = HttpCall.JSON.readTree(output.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow());
            assertEquals(5, out.get("models").size());
            assertEquals(decoder.baseModelId(), out.at("/models/4/parent").asText());
            assertEquals(OpenAiApiTest.generate(Fixtures.adapters().get(3), "Call me Ishmael.", 11), out.at("/completion/text").asText());
            assertEquals("length", out.at("/completion/finish").asText());
            assertEquals(11, out.at("/completion/usage/completion_tokens").asInt());
            String rendered = ChatTemplate.load(Fixtures.model()).render(List.of(Map.of("role", "user", "content", "Hello there")), true);
            assertEquals(OpenAiApiTest.generate(Fixtures.adapters().get(3), rendered, 7), out.at("/chatStream/text").asText());
            assertEquals(7, out.at("/chatStream/usage/completion_tokens").asInt());
            assertEquals(404, out.at("/notFound/status").asInt());
            assertEquals("model_not_found", out.at("/notFound/code").asText());
            float[] expected = reference.embed("a nice day, superb time");
            JsonNode got = out.get("embedding");
            assertEquals(expected.length, got.size());
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], (float) got.get(i).asDouble(), "dimension " + i);
            assertTrue(out.at("/models/0/parent").isNull());
        }
    }
}
