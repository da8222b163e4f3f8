package dev.lora4j.train;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An all-reduce between threads of one JVM, for tests of data-parallel training without a cluster: each rank deposits
 * its array, then every rank sums the deposits in rank order (in double, rounded once) and keeps the result, so every
 * rank holds the same bits, as lora4j-spark's socket all-reduce does.
 */
final class ThreadAllReduce {
    private final int worldSize;
    private final CyclicBarrier barrier;
    private final Object[] deposits;

    ThreadAllReduce(int worldSize) {
        this.worldSize = worldSize;
        this.barrier = new CyclicBarrier(worldSize);
        this.deposits = new Object[worldSize];
    }

    GradientAllReduce rank(int rank) {
        return new GradientAllReduce() {
            @Override
            public int rank() {
                return rank;
            }

            @Override
            public int worldSize() {
                return worldSize;
            }

            @Override
            public void sum(float[] values) {
                deposits[rank] = values.clone();
                await();
                for (int i = 0; i < values.length; i++) {
                    double acc = 0;
                    for (int r = 0; r < worldSize; r++) acc += ((float[]) deposits[r])[i];
                    values[i] = (float) acc;
                }
                await();                                    // nobody deposits the next array before all have read this one
            }

            @Override
            public void sum(double[] values) {
                deposits[rank] = values.clone();
                await();
                for (int i = 0; i < values.length; i++) {
                    double acc = 0;
                    for (int r = 0; r < worldSize; r++) acc += ((double[]) deposits[r])[i];
                    values[i] = acc;
                }
                await();
            }
        };
    }

    private void await() {
        try {
            barrier.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
            throw new IllegalStateException("a worker did not reach the all-reduce", e);
        }
    }
}
