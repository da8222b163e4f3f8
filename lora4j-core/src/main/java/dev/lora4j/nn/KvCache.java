// The keys and values of every layer for the tokens seen so far, so each new token attends to them
// without recomputing them: HF's past_key_values (modeling_gpt2.py, use_cache=True) for batch 1,
// stored (T, C) per layer with heads side by side, as they come out of c_attn.
package dev.lora4j.nn;

/**
 * Per layer a K and a V buffer of {@code capacity} rows of {@code width} floats (row t = position t),
 * and the number of positions filled. A model's {@code forwardCached} writes the rows of the new tokens
 * into every layer, then {@link #advance}s the length once.
 */
public final class KvCache {
    private final float[][] keys;     // per layer (capacity, width)
    private final float[][] values;   // per layer (capacity, width)
    private final int capacity;
    private final int width;
    private int length;

    /** Empty cache for {@code layers} layers of up to {@code capacity} positions of {@code width} (C) each. */
    public KvCache(int layers, int capacity, int width) {
        if (layers < 1 || capacity < 1 || width < 1) {
            throw new IllegalArgumentException("KV cache sizes must be positive: layers " + layers + ", capacity " + capacity
                    + ", width " + width);
        }
        this.capacity = capacity;
        this.width = width;
        this.keys = new float[layers][capacity * width];
        this.values = new float[layers][capacity * width];
    }

    public int layers() {
        return keys.length;
    }

    /** Most positions the cache holds. */
    public int capacity() {
        return capacity;
    }

    /** Floats per position and layer (C = n_head · head_dim). */
    public int width() {
        return width;
    }

    /** Positions filled so far: the position id of the next token. */
    public int length() {
        return length;
    }

    /** Layer {@code layer}'s keys, (capacity, width); rows at and after {@link #length()} are scratch. */
    public float[] keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code layer}'s values, (capacity, width). */
    public float[] values(int layer) {
        return values[layer];
    }

    /** Marks {@code n} more positions filled, after every layer wrote their rows. */
    public void advance(int n) {
        if (n < 0 || length + n > capacity) {
            throw new IllegalArgumentException("cannot advance a KV cache of " + length + "/" + capacity + " positions by " + n);
        }
        length += n;
    }
}
