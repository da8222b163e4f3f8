package dev.lora4j.spark;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Workers of one JVM hold one frozen base: a later worker's frozen tensors become the first one's; trainable ones stay its own. */
class SharedBaseTest {
    private static final Path TINY = Path.of(System.getProperty("lora4j.testdata", "../testdata")).resolve("gpt2-tiny");

    private static CausalLm lora() {
        CausalLm m = ModelLoader.load(TINY);
        LoraInjector.apply(m, LoraConfig.defaults("gpt2").withR(2), 1);
        return m;
    }

    @Test
    void frozenTensorsAreSharedWithinAJobTrainableOnesNever() {
        CausalLm first = lora(), second = lora(), nextJob = lora();
        SharedBase.share(1, first.module());
        SharedBase.share(1, second.module());
        Map<String, Tensor> a = first.module().namedParameters(), b = second.module().namedParameters();
        a.forEach((name, t) -> {
            if (t.requiresGrad()) assertNotSame(t.data(), b.get(name).data(), name);
            else assertSame(t.storage(), b.get(name).storage(), name);
        });
        SharedBase.share(2, nextJob.module());                  // another job keeps its own, and becomes the one shared
        nextJob.module().namedParameters().forEach((name, t) -> assertNotSame(t.storage(), a.get(name).storage(), name));
    }
}
