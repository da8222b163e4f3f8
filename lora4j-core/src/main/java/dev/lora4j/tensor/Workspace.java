package dev.lora4j.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Recycles the float arrays of one training step for the next (llm.c's preallocated activations, found
 * by the first step instead of planned): while a workspace is open on a thread, ops take their outputs,
 * activation gradients and scratch from it; {@link #reset()} at the start of the next micro-batch hands
 * them all back. Steady-state steps then allocate nothing large, so the heap stops growing and the GC
 * stays idle. A workspace opened inside another (an evaluation during training) borrows the outer one's free
 * arrays and gives everything back when closed. Only the opening thread uses it.
 *
 * <p>Arrays are handed out by capacity, not by exact size: a request for n floats takes the smallest free array of
 * at least n floats, so when batches are padded to different lengths from step
 * to step (classification of texts of varied lengths) a shorter step reuses the longer step's arrays instead of
 * allocating its own. The pool is then sized once by the longest step, not by every distinct length (which once made
 * MiniLM's peak RSS grow past 8 GB). An array can therefore be longer than asked for: its first n values are zeroed,
 * and users index it by the size they asked for, never by its length. Arrays no step has taken for
 * {@value #KEEP_RESETS} resets are dropped, so the pool follows the steps' needs and stays about one long step large.
 *
 * <p>Every reset, release and close starts a new generation: a pooled {@link Tensor} remembers the generation it was
 * made in and refuses to be read afterwards ({@link IllegalStateException}), because its array may by then belong to
 * another tensor of the next step. Holding an activation across a reset is a bug this makes loud.
 */
public final class Workspace implements AutoCloseable {
    /** A free array that no step has taken for this many resets is dropped (the pool follows the steps' needs). */
    static final int KEEP_RESETS = 32;

    private static final ThreadLocal<Workspace> CURRENT = new ThreadLocal<>();
    private final TreeMap<Integer, ArrayDeque<float[]>> free = new TreeMap<>();
    private final Set<float[]> taken = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<float[], Integer> lastUsed = new IdentityHashMap<>();   // array → the reset count when last taken
    private final Workspace previous;
    private int generation;
    private int resets;
    private long allocatedBytes;

    private Workspace(Workspace previous) {
        this.previous = previous;
    }

    /** Opens a workspace on this thread (until {@link #close()}). */
    public static Workspace open() {
        Workspace ws = new Workspace(CURRENT.get());
        CURRENT.set(ws);
        return ws;
    }

    /**
     * An array of at least n floats whose first n are zero: from the open workspace of this thread (possibly longer
     * than n), else a new array of exactly n.
     */
    public static float[] floats(int n) {
        Workspace ws = CURRENT.get();
        return ws == null ? new float[n] : ws.take(n);
    }

    /**
     * Bytes of the arrays the workspace open on this thread has allocated so far (0 without one), those of the workspaces
     * closed inside it included (their arrays joined its pool): what its steps cost the heap beyond the arrays they
     * reused. In a steady run it stops growing after the longest step.
     */
    public static long allocatedBytes() {
        Workspace ws = CURRENT.get();
        return ws == null ? 0 : ws.allocatedBytes;
    }

    /** The workspace open on this thread, or null. */
    static Workspace current() {
        return CURRENT.get();
    }

    /** Bumped by every reset, release and close: arrays handed out before belong to nobody any more. */
    int generation() {
        return generation;
    }

    private float[] take(int n) {
        float[] a = poll(n);
        if (a == null) {
            a = new float[n];
            allocatedBytes += 4L * n;
        } else {
            Arrays.fill(a, 0, n, 0f);
        }
        taken.add(a);
        lastUsed.put(a, resets);
        return a;
    }

    /** The best-fitting free array for n floats from this workspace or, for a nested one, from those it was opened inside. */
    private float[] poll(int n) {
        float[] a = pollOwn(n);
        return a != null || previous == null ? a : previous.pollOwn(n);
    }

    private float[] pollOwn(int n) {
        Map.Entry<Integer, ArrayDeque<float[]>> e = free.ceilingEntry(n);
        if (e == null) return null;
        float[] a = e.getValue().poll();
        if (e.getValue().isEmpty()) free.remove(e.getKey());
        return a;
    }

    private void adopt(float[] a) {
        giveBack(a);
        lastUsed.put(a, resets);
    }

    private void giveBack(float[] a) {
        free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);          // last in, first out: surplus arrays sink
    }

    /** Hands one array back early (an activation gradient whose op has run its backward); ignores foreign arrays. */
    public static void recycle(float[] a) {
        Workspace ws = CURRENT.get();
        if (ws != null && ws.taken.remove(a)) ws.giveBack(a);
    }

    /**
     * Everything taken since the last reset becomes free again: the caller guarantees none of it is still used. Free
     * arrays no step has taken for {@value #KEEP_RESETS} resets are dropped.
     */
    public void reset() {
        resets++;
        free.values().forEach(q -> q.removeIf(a -> {
            boolean stale = resets - lastUsed.getOrDefault(a, resets) > KEEP_RESETS;
            if (stale) lastUsed.remove(a);
            return stale;
        }));
        free.values().removeIf(ArrayDeque::isEmpty);
        handBack();
    }

    /**
     * Everything taken becomes free, as in {@link #reset()}, and every array counts as just used: for an evaluation
     * between two training steps, which must not make the steps' arrays look unused.
     */
    public void release() {
        lastUsed.replaceAll((a, r) -> resets);
        handBack();
    }

    private void handBack() {
        generation++;
        for (float[] a : taken) giveBack(a);
        taken.clear();
    }

    /**
     * Ends this workspace. A nested one (an evaluation inside a training run) hands all its arrays to the one it was
     * opened in, as free arrays: the next evaluation or step reuses them instead of the heap growing by their size.
     */
    @Override
    public void close() {
        generation++;
        if (previous != null) {                           // they count as just used, so the outer resets keep them
            previous.allocatedBytes += allocatedBytes;
            for (float[] a : taken) previous.adopt(a);
            free.values().forEach(q -> q.forEach(previous::adopt));
        }
        free.clear();
        taken.clear();
        lastUsed.clear();
        if (previous == null) CURRENT.remove();
        else CURRENT.set(previous);
    }
}
