package dev.lora4j.kernels;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the {@link Kernels} once per JVM, the way Lucene's VectorizationProvider does: the Vector API
 * implementation when the {@code jdk.incubator.vector} module is present and loads, else the scalar
 * reference, with one log line either way. {@code -Dlora4j.kernels=scalar} forces the reference.
 */
public final class KernelProvider {
    private static final Logger LOG = LoggerFactory.getLogger(KernelProvider.class);
    private static final Kernels INSTANCE = lookup();

    private KernelProvider() {}

    public static Kernels get() {
        return INSTANCE;
    }

    private static Kernels lookup() {
        if ("scalar".equals(System.getProperty("lora4j.kernels"))) {
            LOG.info("kernels: scalar (forced by -Dlora4j.kernels=scalar)");
            return new ScalarKernels();
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.info("kernels: scalar (Vector API unavailable; start Java with --add-modules=jdk.incubator.vector)");
            return new ScalarKernels();
        }
        try {
            Kernels k = (Kernels) Class.forName("dev.lora4j.kernels.panama.PanamaKernels")
                    .getDeclaredConstructor().newInstance();
            LOG.info("kernels: {} (Vector API), {} threads", k.name(), Gemm.threads());
            return k;
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.warn("kernels: scalar (Vector API failed to load: {})", e.toString());
            return new ScalarKernels();
        }
    }
}
