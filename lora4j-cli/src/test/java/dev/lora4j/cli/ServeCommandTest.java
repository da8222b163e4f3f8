// `lora4j serve` as a user runs it, in a child JVM: it answers on the port it reports, SIGTERM lets a request in
// flight finish its stream, and the process then exits with status 0; bad flags are usage errors (status 2).
package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ServeCommandTest {
    private static final Path SOTU = Path.of(System.getProperty("lora4j.testdata", "../testdata")).resolve("gpt2-tiny-sotu");

    @Test
    void badFlagsAreUsageErrors() {
        StringWriter err = new StringWriter();
        int status = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "serve", "--model", SOTU.toString(), "--adapter", "nodir");
        assertEquals(2, status, err.toString());
        assertTrue(err.toString().contains("NAME=DIR"), err.toString());
        status = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "serve", "--model", SOTU.toString(), "--max-loras", "0");
        assertEquals(2, status, err.toString());
    }

    @Test
    @Timeout(120)
    void sigtermFinishesTheRequestInFlightThenExitsWithZero() throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules=jdk.incubator.vector", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--model", SOTU.toString(), "--port", "0"));
        Process server = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            BufferedReader log = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            Pattern serving = Pattern.compile("serving gpt2-tiny-sotu on http://127\\.0\\.0\\.1:(\\d+)");
            int port = -1;
            for (String line; port < 0 && (line = log.readLine()) != null; ) {
                Matcher m = serving.matcher(line);
                if (m.find()) port = Integer.parseInt(m.group(1));
            }
            assertTrue(port > 0, "the server reported its port");
            StringBuffer serverLog = new StringBuffer();                 // the rest of its output, read on so the pipe never fills
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (String l; (l = log.readLine()) != null; ) serverLog.append(l).append('\n');
                } catch (java.io.IOException closed) {
                    serverLog.append("(output closed)\n");
                }
            });
            HttpClient http = HttpClient.newHttpClient();
            String body = "{\"model\": \"gpt2-tiny-sotu\", \"prompt\": \"Mr. Speaker\", \"max_tokens\": 100, \"temperature\": 0, \"stream\": true}";
            HttpResponse<Stream<String>> stream = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, stream.statusCode());
            var lines = stream.body().iterator();
            assertTrue(lines.next().startsWith("data: "), "the first event came");
            server.destroy();                                        // SIGTERM
            List<String> rest = new ArrayList<>();
            lines.forEachRemaining(rest::add);
            boolean exited = server.waitFor(60, TimeUnit.SECONDS);
            assertEquals("data: [DONE]", rest.stream().filter(l -> !l.isEmpty()).reduce((a, b) -> b).orElse(""),
                    () -> "the stream ran to its end; the server (exit " + (exited ? server.exitValue() : "none") + ") printed:\n" + serverLog);
            assertTrue(rest.stream().anyMatch(l -> l.contains("\"finish_reason\":\"length\"")), "all 100 tokens were sent");
            assertTrue(exited, "the server exits after draining");
            assertEquals(0, server.exitValue());
            int p = port;
            assertThrows(ConnectException.class, () -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        } finally {
            server.destroyForcibly();
        }
    }
}
