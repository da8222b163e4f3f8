package dev.lora4j.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code SparkBench allreduce}: the time of one gradient all-reduce ({@link SocketAllReduce}) for the adapter of a
 * preset, W workers as threads of this JVM over loopback (the protocol's own cost, not a network's), as one JSON line.
 */
@Command(name = "allreduce", mixinStandardHelpOptions = true, description = "Time the workers' all-reduce of one adapter's gradients; one JSON line.")
final class AllReduceBench implements Callable<Integer> {
    /** Trainable values of LoRA r on the listed linears (in, out) of every layer. */
    record Adapter(int layers, int r, int[][] linears) {
        long values() {
            long per = 0;
            for (int[] l : linears) per += (long) r * (l[0] + l[1]);
            return per * layers;
        }
    }

    static final Map<String, Adapter> PRESETS = Map.of(
            // GPT-2 small (124M), PEFT's default target c_attn (768 -> 2304), r = 8
            "gpt2-small-r8", new Adapter(12, 8, new int[][] {{768, 2304}}),
            // a 1B Llama (Llama 3.2 1B: hidden 2048, 16 layers, 8 KV heads of 64, MLP 8192), all-linear, r = 16
            "llama-1b-all-linear-r16", new Adapter(16, 16, new int[][] {{2048, 2048}, {2048, 512}, {2048, 512}, {2048, 2048},
                    {2048, 8192}, {2048, 8192}, {8192, 2048}}));

    @Option(names = "--preset", defaultValue = "gpt2-small-r8", description = "gpt2-small-r8 or llama-1b-all-linear-r16 (default: ${DEFAULT-VALUE}).")
    String preset;
    @Option(names = "--workers", defaultValue = "2", description = "Workers (default: ${DEFAULT-VALUE}).")
    int workers;
    @Option(names = "--rounds", defaultValue = "20", description = "Timed all-reduces after 3 of warm-up (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        Adapter a = PRESETS.get(preset);
        if (a == null) throw new IllegalArgumentException("--preset '" + preset + "' is not one of " + PRESETS.keySet());
        int n = Math.toIntExact(a.values());
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        List<SocketAllReduce> group = new ArrayList<>();
        try (ServerSocketChannel server = SocketAllReduce.listen("127.0.0.1")) {
            InetSocketAddress at = (InetSocketAddress) server.getLocalAddress();
            List<Future<SocketAllReduce>> joining = new ArrayList<>();
            for (int r = 1; r < workers; r++) {
                int rank = r;
                joining.add(pool.submit(() -> SocketAllReduce.connect(at, rank, workers, 1, 60_000_000_000L, () -> false)));
            }
            group.add(SocketAllReduce.accept(server, workers, 1, 60_000_000_000L, () -> false));
            for (Future<SocketAllReduce> f : joining) group.add(f.get());
            double[] ms = new double[rounds];
            for (int round = -3; round < rounds; round++) {
                List<Future<Long>> done = new ArrayList<>();
                for (SocketAllReduce g : group) {
                    done.add(pool.submit(() -> {
                        float[] grad = new float[n];
                        Arrays.fill(grad, g.rank() + 1);
                        long t0 = System.nanoTime();
                        g.sum(grad);
                        return System.nanoTime() - t0;
                    }));
                }
                long slowest = 0;
                for (Future<Long> f : done) slowest = Math.max(slowest, f.get());
                if (round >= 0) ms[round] = slowest / 1e6;
            }
            Arrays.sort(ms);
            ObjectNode o = new ObjectMapper().createObjectNode().put("bench", "allreduce").put("preset", preset).put("values", n)
                    .put("bytes", 4L * n).put("workers", workers).put("rounds", rounds).put("transport", "loopback, one JVM")
                    .put("ms_median", ms[rounds / 2]).put("ms_min", ms[0]).put("ms_max", ms[rounds - 1]);
            System.out.println(o);
        } finally {
            group.forEach(SocketAllReduce::close);
            pool.shutdownNow();
        }
        return 0;
    }
}
