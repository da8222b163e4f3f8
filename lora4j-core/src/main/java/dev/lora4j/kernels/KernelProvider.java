package dev.lora4j.kernels;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the {@link Kernels} once per JVM, the way Lucene's VectorizationProvider does: the Vector API
 * implementation when the {@code jdk.incubator.vector} module is present and loads, else the scalar
 * reference, with one log line either way. {@code -Dlora4j.kernels=scalar} forces the reference.
 * {@code -Dlora4j.exactDots=true} makes batch-1 products on ggml block weights exact too (the widened weight times the
 * float32 row, as every other product) instead of llama.cpp's integer dot products on the row quantized to 8 bits: a
 * quantized model then decodes with the bits of the same model with its weights dequantized to float32.
 */
public final class KernelProvider {
    private static final Logger LOG = LoggerFactory.getLogger(KernelProvider.class);
    private static final Kernels INSTANCE = lookup(Boolean.getBoolean("lora4j.exactDots"));

    private KernelProvider() {}

    public static Kernels get() {
        return INSTANCE;
    }

    /** The kernels {@link #get} chooses, made with or without {@code exactDots} (see {@link Kernels#gemmABt}). */
    static Kernels lookup(boolean exactDots) {
        String exact = exactDots ? ", exact one-row products (-Dlora4j.exactDots)" : "";
        if ("scalar".equals(System.getProperty("lora4j.kernels"))) {
            LOG.info("kernels: scalar (forced by -Dlora4j.kernels=scalar){}", exact);
            return new ScalarKernels(exactDots);
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.info("kernels: scalar (Vector API unavailable; start Java with --add-modules=jdk.incubator.vector){}", exact);
            return new ScalarKernels(exactDots);
        }
        try {
            Kernels k = (Kernels) Class.forName("dev.lora4j.kernels.panama.PanamaKernels")
                    .getDeclaredConstructor(boolean.class).newInstance(exactDots);
            LOG.info("kernels: {} (Vector API), {} threads{}", k.name(), Gemm.threads(), exact);
            return k;
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.warn("kernels: scalar (Vector API failed to load: {})", e.toString());
            return new ScalarKernels(exactDots);
        }
    }
}
