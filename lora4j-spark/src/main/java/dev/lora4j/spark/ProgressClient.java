package dev.lora4j.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora4jException;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Trainer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Rank 0's side of the progress channel: the pipeline's reports (plan, start, steps, evaluations, resume), one JSON
 * line each, to the driver's {@link ProgressServer}, which shows them as a single-machine run does; and the request
 * that lets the driver prepare the output before rank 0 writes into it.
 */
final class ProgressClient implements FineTune.Listener, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Socket socket;
    private final OutputStream out;
    private final BufferedReader in;
    private final int attempt;

    ProgressClient(InetSocketAddress driver, int attempt, int timeoutMillis) throws IOException {
        this.socket = new Socket();
        socket.connect(driver, timeoutMillis);
        socket.setSoTimeout(timeoutMillis);
        this.out = socket.getOutputStream();
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        this.attempt = attempt;
    }

    @Override
    public void onPlan(FineTune.Plan plan) {
        send(event("plan").set("plan", PlanJson.write(plan)));
    }

    /** Every worker has loaded and validated the run: asks the driver to prepare the output, and waits until it has. */
    void ready() {
        send(event("ready"));
        String reply;
        try {
            reply = in.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException("no answer from the driver: " + e.getMessage(), e);
        }
        if (reply == null) throw new UncheckedIOException(new IOException("the driver closed the progress channel"));
        if (!reply.equals(ProgressServer.OK)) throw new Lora4jException(reply);
    }

    @Override
    public void onStart(FineTune.Start start) {
        send(event("start").set("start", JSON.valueToTree(start)));
    }

    @Override
    public void onResume(int step, List<String> overridden) {
        ObjectNode e = event("resume").put("step", step);
        overridden.forEach(e.putArray("overridden")::add);
        send(e);
    }

    @Override
    public void onStep(Trainer.StepMetrics m) {
        send(event("step").set("metrics", JSON.valueToTree(m)));
    }

    @Override
    public void onEval(int step, Map<String, Double> metrics) {
        send(event("eval").put("step", step).set("metrics", JSON.valueToTree(metrics)));
    }

    private ObjectNode event(String name) {
        return JSON.createObjectNode().put("attempt", attempt).put("event", name);
    }

    private void send(ObjectNode event) {
        try {
            out.write((JSON.writeValueAsString(event) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot report to the driver: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
