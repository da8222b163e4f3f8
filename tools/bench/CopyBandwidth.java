// The machine's memory bandwidth, the "speed of light" of batch-1 decoding (each token reads every weight once):
// STREAM's Copy (b[i] = a[i]) over arrays far larger than the caches, split over THREADS threads, best of ROUNDS;
// STREAM counts the bytes read and written, 2 × 4 bytes per element. One JSON line.
//   java tools/bench/CopyBandwidth.java [THREADS (2)] [MB per array (1024)] [ROUNDS (5)]
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;

public final class CopyBandwidth {
    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int n = Math.toIntExact(mb * (1L << 20) / 4);
        float[] a = new float[n], b = new float[n];
        java.util.Arrays.fill(a, 1f);                                  // touch every page before timing
        java.util.Arrays.fill(b, 0f);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        double best = Double.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            List<Future<?>> parts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int from = (int) ((long) n * t / threads), to = (int) ((long) n * (t + 1) / threads);
                parts.add(pool.submit(() -> System.arraycopy(a, from, b, from, to - from)));
            }
            for (Future<?> f : parts) f.get();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        pool.shutdown();
        double gbPerS = 2.0 * 4 * n / best / 1e9;
        System.out.printf("{\"impl\": \"copy-bandwidth\", \"threads\": %d, \"array_mb\": %d, \"rounds\": %d, \"best_s\": %.6f, \"copy_gb_per_s\": %.2f}%n",
                threads, mb, rounds, best, gbPerS);
    }
}
