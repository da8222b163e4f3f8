package dev.lora4j.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Recycles the float arrays of one training step for the next (llm.c's preallocated activations, found
 * by the first step instead of planned): while a workspace is open on a thread, ops take their outputs,
 * activation gradients and scratch from it; {@link #reset()} at the start of the next micro-batch hands
 * them all back. Steady-state steps then allocate nothing large, so the heap stops growing and the GC
 * stays idle. When shapes change from step to step (padded batches of varying length), a reset also drops the
 * free arrays of every size the finished step did not ask for, so the pool never holds more than about one
 * step's arrays. A workspace opened inside another (an evaluation during training) borrows the outer one's free
 * arrays and gives everything back when closed. Arrays come back zeroed. Only the opening thread uses it.
 *
 * <p>Every reset, release and close starts a new generation: a pooled {@link Tensor} remembers the generation it was
 * made in and refuses to be read afterwards ({@link IllegalStateException}), because its array may by then belong to
 * another tensor of the next step. Holding an activation across a reset is a bug this makes loud.
 */
public final class Workspace implements AutoCloseable {
    private static final ThreadLocal<Workspace> CURRENT = new ThreadLocal<>();
    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    private final Set<float[]> taken = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Integer> askedSinceReset = new HashSet<>();
    private final Workspace previous;
    private int generation;

    private Workspace(Workspace previous) {
        this.previous = previous;
    }

    /** Opens a workspace on this thread (until {@link #close()}). */
    public static Workspace open() {
        Workspace ws = new Workspace(CURRENT.get());
        CURRENT.set(ws);
        return ws;
    }

    /** A zeroed array of n floats: from the open workspace of this thread, else a new one. */
    public static float[] floats(int n) {
        Workspace ws = CURRENT.get();
        return ws == null ? new float[n] : ws.take(n);
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
        askedSinceReset.add(n);
        float[] a = poll(n);
        if (a == null) a = new float[n];
        else Arrays.fill(a, 0f);
        taken.add(a);
        return a;
    }

    /** A free array of n floats from this workspace or, for a nested one, from those it was opened inside. */
    private float[] poll(int n) {
        ArrayDeque<float[]> q = free.get(n);
        float[] a = q == null ? null : q.poll();
        return a != null || previous == null ? a : previous.poll(n);
    }

    /** Hands one array back early (an activation gradient whose op has run its backward); ignores foreign arrays. */
    public static void recycle(float[] a) {
        Workspace ws = CURRENT.get();
        if (ws != null && ws.taken.remove(a)) ws.free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).add(a);
    }

    /** Everything taken since the last reset becomes free again: the caller guarantees none of it is still used. */
    public void reset() {
        free.keySet().retainAll(askedSinceReset);
        askedSinceReset.clear();
        release();
    }

    /**
     * Everything taken becomes free, as in {@link #reset()}, but the sizes asked for so far still count as asked at the
     * next reset: for an evaluation between two training steps, whose batches must not make the next step's sizes look
     * unused (the step would then allocate all its arrays anew).
     */
    public void release() {
        generation++;
        for (float[] a : taken) free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).add(a);
        taken.clear();
    }

    /**
     * Ends this workspace. A nested one (an evaluation inside a training run) hands all its arrays to the one it was
     * opened in, as free arrays: the next evaluation or step reuses them instead of the heap growing by their size.
     */
    @Override
    public void close() {
        generation++;
        if (previous != null) {                           // its sizes count as asked for, so the outer reset keeps them
            for (float[] a : taken) previous.free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).add(a);
            free.forEach((n, q) -> previous.free.computeIfAbsent(n, k -> new ArrayDeque<>()).addAll(q));
            previous.askedSinceReset.addAll(askedSinceReset);
        }
        free.clear();
        taken.clear();
        askedSinceReset.clear();
        if (previous == null) CURRENT.remove();
        else CURRENT.set(previous);
    }
}
