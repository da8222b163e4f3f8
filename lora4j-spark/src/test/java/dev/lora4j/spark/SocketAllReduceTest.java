package dev.lora4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The workers' all-reduce over loopback sockets, one thread per rank: the sums, and that no failure of a peer hangs it. */
class SocketAllReduceTest {
    private static final long SECOND = 1_000_000_000L;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** Ranks 1..W-1 of group {@code token}, connected to rank 0 listening on {@code server}. */
    private List<Future<SocketAllReduce>> join(ServerSocketChannel server, int W, long token, long timeout) throws Exception {
        InetSocketAddress at = (InetSocketAddress) server.getLocalAddress();
        List<Future<SocketAllReduce>> ranks = new ArrayList<>();
        for (int r = 1; r < W; r++) {
            int rank = r;
            ranks.add(pool.submit(() -> SocketAllReduce.connect(at, rank, W, token, timeout, () -> false)));
        }
        return ranks;
    }

    @Test
    void everyRankGetsTheSameSumsAddedInRankOrder() throws Exception {
        int W = 3, n = 150_001;                                  // more than two chunks, and a tail
        float[][] values = new float[W][n];
        SplittableRandom rnd = new SplittableRandom(1);
        for (float[] v : values) for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-6, 6)));
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = (float) ((double) values[0][i] + values[1][i] + values[2][i]);
        try (ServerSocketChannel server = SocketAllReduce.listen("127.0.0.1")) {
            List<Future<SocketAllReduce>> others = join(server, W, 42, 30 * SECOND);
            List<SocketAllReduce> group = new ArrayList<>(List.of(SocketAllReduce.accept(server, W, 42, 30 * SECOND, () -> false)));
            for (Future<SocketAllReduce> f : others) group.add(f.get());
            List<Future<double[]>> done = new ArrayList<>();
            for (SocketAllReduce g : group) {
                done.add(pool.submit(() -> {
                    g.sum(values[g.rank()]);
                    double[] d = {g.rank(), 0.5};
                    g.sum(d);
                    return d;
                }));
            }
            for (Future<double[]> f : done) assertArrayEquals(new double[] {0 + 1 + 2, 1.5}, f.get());
            for (int r = 0; r < W; r++) assertArrayEquals(expected, values[r], "rank " + r);
            group.forEach(SocketAllReduce::close);
        }
    }

    @Test
    void aPeerThatDiesIsAnErrorAtOnceNotAfterTheTimeout() throws Exception {
        try (ServerSocketChannel server = SocketAllReduce.listen("127.0.0.1")) {
            Future<SocketAllReduce> peer = join(server, 2, 7, 60 * SECOND).getFirst();
            try (SocketAllReduce rank0 = SocketAllReduce.accept(server, 2, 7, 60 * SECOND, () -> false)) {
                peer.get().close();                               // its process died: the kernel closes its sockets
                long t0 = System.nanoTime();
                RuntimeException e = assertThrows(SocketAllReduce.AllReduceException.class, () -> rank0.sum(new float[10]));
                assertTrue(e.getMessage().contains("closed the connection"), e.getMessage());
                assertTrue(System.nanoTime() - t0 < 5 * SECOND);
            }
        }
    }

    @Test
    void aPeerThatStallsIsAnErrorAfterTheTimeout() throws Exception {
        try (ServerSocketChannel server = SocketAllReduce.listen("127.0.0.1")) {
            Future<SocketAllReduce> peer = join(server, 2, 7, SECOND).getFirst();
            try (SocketAllReduce rank0 = SocketAllReduce.accept(server, 2, 7, SECOND, () -> false); SocketAllReduce stalled = peer.get()) {
                long t0 = System.nanoTime();
                RuntimeException e = assertThrows(SocketAllReduce.AllReduceException.class, () -> rank0.sum(new double[3]));
                assertTrue(e.getMessage().contains("no progress for 1 s"), e.getMessage());
                assertTrue(System.nanoTime() - t0 < 5 * SECOND);
                assertEquals(1, stalled.rank());
            }
        }
    }

    @Test
    void aWorkerOfAnotherAttemptIsNotLetInAndNobodyWaitsForeverForTheRightOne() throws Exception {
        try (ServerSocketChannel server = SocketAllReduce.listen("127.0.0.1")) {
            Future<SocketAllReduce> stray = join(server, 2, 6, SECOND).getFirst();    // the previous attempt's token
            long t0 = System.nanoTime();
            Exception e = assertThrows(Exception.class, () -> SocketAllReduce.accept(server, 2, 7, SECOND, () -> false));
            assertTrue(e.getMessage().contains("waiting for 1 worker(s) to connect"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 5 * SECOND);
            stray.get().close();
        }
    }

    @Test
    void aCancelledTaskStopsWaiting() throws Exception {
        try (ServerSocketChannel server = SocketAllReduce.listen("127.0.0.1")) {
            Exception e = assertThrows(Exception.class, () -> SocketAllReduce.accept(server, 2, 7, 60 * SECOND, () -> true));
            assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
        }
    }
}
