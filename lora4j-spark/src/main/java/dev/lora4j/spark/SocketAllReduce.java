package dev.lora4j.spark;

import dev.lora4j.train.GradientAllReduce;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;

/**
 * The workers' own all-reduce over TCP, as XGBoost4J-Spark and TorchDistributor do it beside Spark: a star around rank 0,
 * which reads every worker's values, adds them in rank order (in double, rounded once) and sends the sums back, so every
 * worker receives the same bits. Every wait is bounded: a connection, a read or a write that does not progress within
 * the timeout, a peer that closes (its process died) or a task that Spark cancels ends in an {@link IOException}-based
 * error, never a hang. Values stream in chunks, so rank 0 holds no copy of a worker's whole array.
 */
final class SocketAllReduce implements GradientAllReduce, AutoCloseable {
    private static final int MAGIC = 0x4C344A52;               // "L4JR"
    private static final int CHUNK = 1 << 16;                  // values per chunk
    private static final long POLL_MS = 500;

    private final int rank;
    private final int worldSize;
    private final SocketChannel[] peers;                       // rank 0: peers[r] is rank r's connection; others: peers[0]
    private final long timeoutNanos;
    private final BooleanSupplier cancelled;
    private final Selector selector;
    private final ByteBuffer io = ByteBuffer.allocateDirect(CHUNK * 8).order(ByteOrder.LITTLE_ENDIAN);
    private final double[] acc = new double[CHUNK];

    private SocketAllReduce(int rank, int worldSize, SocketChannel[] peers, long timeoutNanos, BooleanSupplier cancelled) throws IOException {
        this.rank = rank;
        this.worldSize = worldSize;
        this.peers = peers;
        this.timeoutNanos = timeoutNanos;
        this.cancelled = cancelled;
        this.selector = Selector.open();
    }

    /** Rank 0's listening socket, bound before the address is shared; {@link #accept} then takes the other ranks. */
    static ServerSocketChannel listen(String host) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(host, 0));
        server.configureBlocking(false);
        return server;
    }

    /** Rank 0: accepts one connection from each other rank of the group {@code token} (a rank introduces itself first). */
    static SocketAllReduce accept(ServerSocketChannel server, int worldSize, long token, long timeoutNanos, BooleanSupplier cancelled) throws IOException {
        SocketChannel[] peers = new SocketChannel[worldSize];
        SocketAllReduce group = new SocketAllReduce(0, worldSize, peers, timeoutNanos, cancelled);
        try (Selector accepting = Selector.open()) {
            server.register(accepting, SelectionKey.OP_ACCEPT);
            long deadline = System.nanoTime() + timeoutNanos;
            for (int joined = 1; joined < worldSize; ) {
                group.checkTime(deadline, "waiting for " + (worldSize - joined) + " worker(s) to connect to rank 0");
                if (accepting.select(POLL_MS) == 0) continue;
                accepting.selectedKeys().clear();
                SocketChannel c = server.accept();
                if (c == null) continue;
                c.configureBlocking(false);
                c.socket().setTcpNoDelay(true);
                ByteBuffer hello = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                group.transfer(c, hello, false, "the introduction of a connecting worker");
                hello.flip();
                int magic = hello.getInt(), r = hello.getInt();
                long t = hello.getLong();
                if (magic != MAGIC || t != token || r <= 0 || r >= worldSize || peers[r] != null) {
                    c.close();                                  // a stray connection, or a worker of an earlier attempt
                    continue;
                }
                peers[r] = c;
                joined++;
            }
        } catch (IOException | RuntimeException e) {
            group.close();
            throw e;
        }
        return group;
    }

    /** Rank r > 0: connects to rank 0 at {@code address} and introduces itself. */
    static SocketAllReduce connect(InetSocketAddress address, int rank, int worldSize, long token, long timeoutNanos, BooleanSupplier cancelled) throws IOException {
        SocketChannel c = SocketChannel.open();
        SocketAllReduce group = new SocketAllReduce(rank, worldSize, new SocketChannel[] {c}, timeoutNanos, cancelled);
        try {
            c.configureBlocking(false);
            c.socket().setTcpNoDelay(true);
            long deadline = System.nanoTime() + timeoutNanos;
            c.connect(address);
            c.register(group.selector, SelectionKey.OP_CONNECT);
            while (!c.finishConnect()) {
                group.checkTime(deadline, "connecting to rank 0 at " + address);
                group.selector.select(POLL_MS);
                group.selector.selectedKeys().clear();
            }
            c.keyFor(group.selector).cancel();
            group.selector.selectNow();                        // deregisters the cancelled key before the next register
            ByteBuffer hello = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(MAGIC).putInt(rank).putLong(token).flip();
            group.transfer(c, hello, true, "introducing rank " + rank + " to rank 0");
        } catch (IOException | RuntimeException e) {
            group.close();
            throw e;
        }
        return group;
    }

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
        reduce(values.length, 4, (buf, off, n) -> {
            for (int i = 0; i < n; i++) buf.putFloat(values[off + i]);
        }, (buf, off, n, first) -> {
            for (int i = 0; i < n; i++) acc[i] = first ? buf.getFloat() : acc[i] + buf.getFloat();
        }, (off, n) -> {
            for (int i = 0; i < n; i++) values[off + i] = (float) acc[i];
        }, (buf, off, n) -> {
            for (int i = 0; i < n; i++) values[off + i] = buf.getFloat();
        });
    }

    @Override
    public void sum(double[] values) {
        reduce(values.length, 8, (buf, off, n) -> {
            for (int i = 0; i < n; i++) buf.putDouble(values[off + i]);
        }, (buf, off, n, first) -> {
            for (int i = 0; i < n; i++) acc[i] = first ? buf.getDouble() : acc[i] + buf.getDouble();
        }, (off, n) -> System.arraycopy(acc, 0, values, off, n), (buf, off, n) -> {
            for (int i = 0; i < n; i++) values[off + i] = buf.getDouble();
        });
    }

    private interface Put { void put(ByteBuffer buf, int off, int n); }

    private interface Add { void add(ByteBuffer buf, int off, int n, boolean first); }

    private interface Keep { void keep(int off, int n); }

    /**
     * Rank 0: for each chunk, its own values then each rank's in rank order into the accumulator, kept in place; then the
     * whole result to every rank (after all was read, so no worker can be blocked writing while rank 0 writes to it).
     * The others: send everything, then read the sums back. Every message starts with the element count, checked.
     */
    private void reduce(int length, int bytes, Put put, Add add, Keep keep, Put get) {
        try {
            if (rank == 0) {
                for (int r = 1; r < worldSize; r++) expectLength(r, length);
                for (int off = 0; off < length; off += CHUNK) {
                    int n = Math.min(CHUNK, length - off);
                    io.clear();
                    put.put(io, off, n);
                    io.flip();
                    add.add(io, off, n, true);
                    for (int r = 1; r < worldSize; r++) {
                        io.clear().limit(n * bytes);
                        transfer(peers[r], io, false, "the values of rank " + r);
                        io.flip();
                        add.add(io, off, n, false);
                    }
                    keep.keep(off, n);
                }
                for (int r = 1; r < worldSize; r++) send(peers[r], length, bytes, put, "the sums to rank " + r);
            } else {
                send(peers[0], length, bytes, put, "the values of rank " + rank + " to rank 0");
                expectLength(0, length);
                for (int off = 0; off < length; off += CHUNK) {
                    int n = Math.min(CHUNK, length - off);
                    io.clear().limit(n * bytes);
                    transfer(peers[0], io, false, "the sums from rank 0");
                    io.flip();
                    get.put(io, off, n);
                }
            }
        } catch (IOException e) {
            throw new AllReduceException("all-reduce of rank " + rank + " of " + worldSize + " workers failed: " + e.getMessage(), e);
        }
    }

    private void send(SocketChannel c, int length, int bytes, Put put, String what) throws IOException {
        io.clear().putInt(length).flip();
        transfer(c, io, true, what);
        for (int off = 0; off < length; off += CHUNK) {
            int n = Math.min(CHUNK, length - off);
            io.clear();
            put.put(io, off, n);
            io.flip();
            transfer(c, io, true, what);
        }
    }

    private void expectLength(int from, int length) throws IOException {
        io.clear().limit(4);
        transfer(peers[from], io, false, "a message length from rank " + from);
        int n = io.flip().getInt();
        if (n != length) throw new IOException("rank " + from + " sent " + n + " values where " + length + " were expected");
    }

    /** Reads into or writes from {@code buf} until it has no room left, within the timeout. */
    private void transfer(SocketChannel c, ByteBuffer buf, boolean write, String what) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        SelectionKey key = c.register(selector, write ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        try {
            while (buf.hasRemaining()) {
                int n = write ? c.write(buf) : c.read(buf);
                if (n < 0) throw new IOException("the peer closed the connection (its task ended or died) while " + (write ? "sending " : "receiving ") + what);
                if (n > 0) {
                    deadline = System.nanoTime() + timeoutNanos;   // the timeout bounds a stall, not a long transfer
                    continue;
                }
                checkTime(deadline, (write ? "sending " : "receiving ") + what);
                selector.select(POLL_MS);
                selector.selectedKeys().clear();
            }
        } finally {
            key.cancel();
            selector.selectNow();                              // deregisters the cancelled key before the next register
        }
    }

    private void checkTime(long deadline, String what) throws IOException {
        if (cancelled.getAsBoolean()) throw new IOException("the task was cancelled while " + what);
        if (System.nanoTime() - deadline > 0) throw new IOException("no progress for " + timeoutNanos / 1_000_000_000 + " s while " + what);
    }

    @Override
    public void close() {
        for (SocketChannel c : peers) {
            try {
                if (c != null) c.close();
            } catch (IOException ignored) {
                // closing: nothing left to do with this connection
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** An all-reduce that could not complete; Spark retries the stage, which resumes from the last checkpoint. */
    static final class AllReduceException extends RuntimeException {
        AllReduceException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
