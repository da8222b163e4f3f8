package dev.lora4j.train;

/**
 * The workers of a data-parallel run, as the {@link Trainer} sees them: this process's rank among {@code worldSize}
 * workers, and an element-wise sum over all of them (an all-reduce, as torch.distributed's {@code all_reduce(SUM)}).
 * Each worker computes the gradient of its shard of every micro-batch; the sums make every worker's gradient the
 * gradient of the whole micro-batch, so every worker applies the same update. A sum must be computed in one fixed order
 * so that every worker receives the same bits, and a worker that died must make it fail, never wait forever.
 * {@link #SINGLE} is one process alone: the sums are the values themselves. lora4j-spark provides the socket one.
 */
public interface GradientAllReduce {
    /** One process, no peers: rank 0 of 1, every sum is the identity. */
    GradientAllReduce SINGLE = new GradientAllReduce() {
        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int worldSize() {
            return 1;
        }

        @Override
        public void sum(float[] values) {}

        @Override
        public void sum(double[] values) {}
    };

    /** This worker's rank, from 0 to {@link #worldSize()} − 1; rank 0 writes the run's files. */
    int rank();

    /** Number of workers, at least 1. */
    int worldSize();

    /** Replaces {@code values} by their element-wise sum over all workers (every worker passes the same length). */
    void sum(float[] values);

    /** {@link #sum(float[])} for a few double-precision values (loss sums, token counts). */
    void sum(double[] values);
}
