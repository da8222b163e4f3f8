package dev.lora4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora4jException;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Trainer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;

/**
 * The driver's side of the progress channel (as TorchDistributor streams its workers' logs to the driver): accepts rank
 * 0's connection — a new one for each attempt of the stage — and hands its reports to the listener (the progress bar,
 * the lines a single-machine run prints). Reports of an attempt older than the newest seen are dropped. On rank 0's
 * "ready" it prepares the output once ({@code prepareOutput}) and answers {@link #OK}, or the error.
 */
final class ProgressServer implements AutoCloseable {
    static final String OK = "ok";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ServerSocket server;
    private final FineTune.Listener listener;
    private final Runnable prepareOutput;
    private final boolean showFreshStart;
    private final List<Socket> connections = new ArrayList<>();
    private int newestAttempt = -1;
    private boolean prepared;
    private FineTune.Plan plan;

    private ProgressServer(ServerSocket server, FineTune.Listener listener, Runnable prepareOutput, boolean showFreshStart) {
        this.server = server;
        this.listener = listener;
        this.prepareOutput = prepareOutput;
        this.showFreshStart = showFreshStart;
    }

    /**
     * Listens on {@code host}; {@code showFreshStart}: pass on the "no checkpoint yet" report of a run asked to resume
     * (every attempt continues from the latest checkpoint, so a fresh run reports it too).
     */
    static ProgressServer start(String host, FineTune.Listener listener, Runnable prepareOutput, boolean showFreshStart) throws IOException {
        ProgressServer s = new ProgressServer(new ServerSocket(0, 8, java.net.InetAddress.getByName(host)), listener, prepareOutput, showFreshStart);
        Thread t = new Thread(s::acceptLoop, "lora4j-progress");
        t.setDaemon(true);
        t.start();
        return s;
    }

    InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress().getHostAddress(), server.getLocalPort());
    }

    /** The plan rank 0 reported last, or null. */
    synchronized FineTune.Plan plan() {
        return plan;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                synchronized (this) {
                    connections.add(s);
                }
                Thread t = new Thread(() -> serve(s), "lora4j-progress-rank0");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;                                         // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))) {
            OutputStream out = s.getOutputStream();
            for (String line; (line = in.readLine()) != null; ) {
                String reply = handle(JSON.readTree(line));
                if (reply != null) {
                    out.write((reply.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            }
        } catch (IOException e) {
            // rank 0's task ended or died; a new attempt connects anew
        }
    }

    private synchronized String handle(JsonNode e) throws IOException {
        int attempt = e.path("attempt").asInt();
        if (attempt < newestAttempt) return e.path("event").asText().equals("ready") ? "an attempt of this run that Spark replaced" : null;
        newestAttempt = attempt;
        switch (e.path("event").asText()) {
            case "plan" -> {
                plan = PlanJson.read(e.get("plan"));
                if (attempt == 0) listener.onPlan(plan);
            }
            case "ready" -> {
                try {
                    if (!prepared) prepareOutput.run();
                    prepared = true;
                    return OK;
                } catch (Lora4jException ex) {
                    return ex.getMessage();
                }
            }
            case "resume" -> {
                int step = e.path("step").asInt();
                List<String> overridden = new ArrayList<>();
                e.path("overridden").forEach(n -> overridden.add(n.asText()));
                if (step > 0 || showFreshStart) listener.onResume(step, overridden);
            }
            case "start" -> {
                if (attempt == 0) listener.onStart(JSON.treeToValue(e.get("start"), FineTune.Start.class));
            }
            case "step" -> listener.onStep(JSON.treeToValue(e.get("metrics"), Trainer.StepMetrics.class));
            case "eval" -> {
                Map<String, Double> m = new LinkedHashMap<>();
                e.path("metrics").properties().forEach(p -> m.put(p.getKey(), p.getValue().asDouble()));
                listener.onEval(e.path("step").asInt(), m);
            }
            default -> { }
        }
        return null;
    }

    @Override
    public synchronized void close() throws IOException {
        server.close();
        for (Socket s : connections) s.close();
    }
}
