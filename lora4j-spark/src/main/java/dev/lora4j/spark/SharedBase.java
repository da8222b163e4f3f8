package dev.lora4j.spark;

import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * The frozen base of the workers of one executor JVM, held once: the first worker to prepare a run keeps its frozen
 * tensors; every later one (another task of the same JVM, or a task of a restarted stage) replaces its own by them
 * ({@link Tensor#shareValuesOf}), so its copy is garbage as soon as it is prepared. Workers load one at a time
 * ({@link #LOADING}), so a JVM holds at most two copies while its workers start. The base stays here after the job
 * (for a restarted stage of the same job); the next job's first worker replaces it.
 */
final class SharedBase {
    /** One worker of the JVM loads at a time; released once its base is shared. */
    static final Semaphore LOADING = new Semaphore(1);
    private static String key;
    private static Map<String, Tensor> frozen = Map.of();

    private SharedBase() {}

    /** Shares {@code model}'s frozen tensors with the JVM's other workers of the job {@code job}. */
    static synchronized void share(long job, Module model) {
        Map<String, Tensor> mine = new LinkedHashMap<>();
        StringBuilder layout = new StringBuilder(Long.toHexString(job));
        model.namedParameters().forEach((name, t) -> {
            if (t.requiresGrad()) return;
            mine.put(name, t);
            layout.append('\n').append(name).append(t.shape()).append(t.isFloat32() ? "" : " compact");
        });
        String k = layout.toString();
        if (!k.equals(key)) {
            key = k;
            frozen = mine;
            return;
        }
        mine.forEach((name, t) -> t.shareValuesOf(frozen.get(name)));
    }
}
