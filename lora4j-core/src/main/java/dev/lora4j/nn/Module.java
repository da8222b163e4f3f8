package dev.lora4j.nn;

import dev.lora4j.tensor.CompactFormat;
import dev.lora4j.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node of the model tree, as torch.nn.Module: its own named parameters and named children, so
 * {@link #namedParameters()} yields dotted Hugging Face names ({@code h.0.attn.c_attn.weight}).
 * Children can be replaced by name (how LoRA swaps a linear layer for its low-rank wrapper).
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training;
    private boolean gradientCheckpointing;

    /** A module with no parameters and no children yet; subclasses register theirs in their constructor. */
    protected Module() {}

    protected final Tensor registerParameter(String name, Tensor t) {
        parameters.put(name, t);
        return t;
    }

    protected final <M extends Module> M registerChild(String name, M child) {
        children.put(name, child);
        return child;
    }

    public final Module child(String name) {
        Module m = children.get(name);
        if (m == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no child '" + name + "'");
        return m;
    }

    /** The child as a {@link Layer}; fails if it is not one. */
    public final Layer layer(String name) {
        return (Layer) child(name);
    }

    /** Swaps the child {@code name} for {@code replacement}. */
    public final void replaceChild(String name, Module replacement) {
        if (!children.containsKey(name)) throw new IllegalArgumentException(getClass().getSimpleName() + " has no child '" + name + "'");
        children.put(name, replacement);
    }

    /** The descendant at a dotted path ("h.0.attn.c_attn"); the empty path is this module. */
    public final Module find(String path) {
        Module m = this;
        if (path.isEmpty()) return m;
        for (String part : path.split("\\.")) m = m.child(part);
        return m;
    }

    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Own and descendants' parameters under dotted names, in registration order. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectParameters("", out);
        return out;
    }

    private void collectParameters(String prefix, Map<String, Tensor> out) {
        parameters.forEach((n, t) -> out.put(prefix + n, t));
        children.forEach((n, c) -> c.collectParameters(prefix + n + ".", out));
    }

    /** Every descendant module under its dotted path (the root itself is not included). */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        children.forEach((n, c) -> {
            out.put(prefix + n, c);
            c.collectModules(prefix + n + ".", out);
        });
    }

    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) n += t.size();
        return n;
    }

    /**
     * Stores every frozen matrix and embedding table (each frozen 2-D parameter) as bfloat16: half their memory,
     * the base weights of LoRA training ({@code --base-dtype bf16}). Norm weights and biases stay float32, as do
     * the trainable parameters. Returns the number of values converted.
     */
    public final long frozenMatricesToBf16() {
        return holdFrozenMatrices(CompactFormat.BF16);
    }

    /**
     * Holds every frozen float32 matrix that {@code format} fits in it ({@code --base-dtype}); the rest stays float32.
     * Returns the number of values converted.
     */
    public final long holdFrozenMatrices(CompactFormat format) {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            if (!t.requiresGrad() && t.isFloat32() && format.fits(t.shape())) {
                t.hold(format.encode(t.data()));
                n += t.size();
            }
        }
        return n;
    }

    /**
     * Seeds every dropout in the tree for the next forward pass from one number (the trainer derives it
     * from the run's seed and the step), so a step can be replayed exactly after a resume.
     */
    public final void reseedDropout(long seed) {
        long i = 0;
        setDropoutSeed(seed);
        for (Module m : namedModules().values()) m.setDropoutSeed(seed * 1_000_003L + ++i);
    }

    /** Hook for modules that draw dropout masks; the default draws none. */
    protected void setDropoutSeed(long seed) {}

    /** Hook: the seed this module's next dropout mask comes from ({@link #setDropoutSeed}'s, advanced by each mask); 0 if it draws none. */
    protected long dropoutSeed() {
        return 0;
    }

    /**
     * The next dropout seed of this module and of each descendant (in {@link #namedModules()} order): with
     * {@link #restoreDropoutSeeds} it replays a forward pass with the same masks (activation recomputation).
     */
    public final long[] dropoutSeeds() {
        Map<String, Module> modules = namedModules();
        long[] seeds = new long[modules.size() + 1];
        int i = 0;
        seeds[i++] = dropoutSeed();
        for (Module m : modules.values()) seeds[i++] = m.dropoutSeed();
        return seeds;
    }

    /** Sets the seeds {@link #dropoutSeeds()} returned. */
    public final void restoreDropoutSeeds(long[] seeds) {
        Map<String, Module> modules = namedModules();
        if (seeds.length != modules.size() + 1) throw new IllegalArgumentException(seeds.length + " dropout seeds for " + (modules.size() + 1) + " modules");
        int i = 0;
        setDropoutSeed(seeds[i++]);
        for (Module m : modules.values()) m.setDropoutSeed(seeds[i++]);
    }

    /**
     * Activation recomputation (HF's gradient_checkpointing_enable), in this module and all its descendants: a model
     * whose flag is on keeps only each transformer block's input during a recorded forward pass and recomputes the
     * block right before its backward (see {@code autograd.Checkpoint}); the same gradients for one more forward.
     */
    public final void gradientCheckpointing(boolean on) {
        gradientCheckpointing = on;
        children.values().forEach(c -> c.gradientCheckpointing(on));
    }

    public final boolean isGradientCheckpointing() {
        return gradientCheckpointing;
    }

    /** Training mode enables dropout, in this module and all its descendants. */
    public final void train(boolean on) {
        training = on;
        children.values().forEach(c -> c.train(on));
    }

    public final boolean isTraining() {
        return training;
    }
}
