package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.ModuleSpec;
import dev.lora4j.model.TaskType;
import dev.lora4j.tensor.CompactFormat;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tensor.WeightStorage;
import dev.lora4j.testing.Storages;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code train --base-dtype} through the pipeline: a run whose base is loaded straight into a compact format holds every
 * parameter exactly as the float32 run converted after LoRA injection does (the path before loading streamed): what the
 * method trains (modules_to_save, a classifier's head) and the targets whose float32 weights DoRA and PiSSA read stay
 * float32 while loading, every other frozen matrix is held in the format, with the same bits.
 */
class CompactBaseRunTest {
    @TempDir
    static Path tmp;
    private static Path ids;

    /** A run's model, task and method. */
    private record Run(String name, String model, TaskType task, Method method) {
        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    static void data() throws IOException {
        ids = tmp.resolve("ids.jsonl");
        Files.writeString(ids, IntStream.range(0, 6).mapToObj(d -> IntStream.range(0, 40).mapToObj(i -> String.valueOf((d * 41 + i * 7) % 400))
                .collect(Collectors.joining(", ", "{\"input_ids\": [", "]}\n"))).collect(Collectors.joining()));
    }

    static Stream<Arguments> runs() {
        LoraConfig lora = LoraConfig.peftDefaults().withR(4).withAlpha(8);
        ModuleSpec allLinear = new ModuleSpec.AllLinear();
        List<Run> runs = List.of(
                new Run("llama LoRA", "llama-golden", TaskType.CAUSAL_LM, Method.lora(lora)),
                new Run("llama DoRA", "llama-golden", TaskType.CAUSAL_LM, Method.lora(lora.withDora(true).withTargets(allLinear))),
                new Run("llama PiSSA", "llama-golden", TaskType.CAUSAL_LM, Method.lora(lora.withInit(LoraConfig.Init.PISSA))),
                new Run("llama modules_to_save", "llama-golden", TaskType.CAUSAL_LM,
                        Method.lora(lora.withModulesToSave(List.of("lm_head", "embed_tokens")))),
                new Run("gpt2 all-linear", "gpt2-golden", TaskType.CAUSAL_LM, Method.lora(lora.withTargets(allLinear))),
                new Run("gguf LoRA", "gguf/tiny-llama.gguf", TaskType.CAUSAL_LM, Method.lora(lora)),
                new Run("bert LoRA", "bert-tiny", TaskType.SEQ_CLS, Method.lora(lora)),
                new Run("bert head-only", "bert-tiny", TaskType.SEQ_CLS, Method.headOnly()));
        List<Arguments> out = new ArrayList<>();
        for (Run run : runs) for (BaseDtype dtype : List.of(BaseDtype.BF16, BaseDtype.Q8_0, BaseDtype.Q4_0, BaseDtype.NF4)) out.add(Arguments.of(run, dtype));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("runs")
    void aRunLoadedIntoTheBaseDtypeHoldsWhatTheFloat32RunConvertedHolds(Run run, BaseDtype dtype) {
        PreparedRun converted = PreparedRun.prepare(fineTune(run, BaseDtype.F32), true);
        CompactFormat format = dtype.format();
        long convertedValues = 0;
        for (Map.Entry<String, Tensor> e : converted.model.module().namedParameters().entrySet()) {
            Tensor p = e.getValue();        // head-only's no-op LoRA layers were frozen after the conversion
            if (!p.requiresGrad() && !e.getKey().contains(".lora_") && p.isFloat32() && format.fits(p.shape())) {
                p.hold(format.encode(p.data()));
                convertedValues += p.size();
            }
        }
        PreparedRun streamed = PreparedRun.prepare(fineTune(run, dtype), true);
        Map<String, Tensor> expected = converted.model.module().namedParameters(), actual = streamed.model.module().namedParameters();
        assertEquals(expected.keySet(), actual.keySet());
        int float32 = 0;
        for (String name : expected.keySet()) {
            Tensor e = expected.get(name), a = actual.get(name);
            assertEquals(e.requiresGrad(), a.requiresGrad(), name);
            assertEquals(e.storage().getClass(), a.storage().getClass(), name);
            assertArrayEquals(Storages.bytes(e.storage()), Storages.bytes(a.storage()), name);
            if (a.shape().rank() == 2 && a.storage() instanceof WeightStorage.F32) float32++;
        }
        assertTrue(float32 > 0 && convertedValues > 0, "some matrices stay float32 and some are converted");
        assertEquals(dtype == BaseDtype.BF16 ? convertedValues : 0, streamed.bf16Values);
    }

    private static FineTune fineTune(Run run, BaseDtype dtype) {
        Path model = run.model().startsWith("gguf/") ? TestData.dir("gguf").resolve(run.model().substring("gguf/".length())) : TestData.dir(run.model());
        Path data = run.task() == TaskType.SEQ_CLS ? TestData.dir("labelled").resolve("train.jsonl") : ids;
        return FineTune.builder().model(model).data(data).output(tmp.resolve("out")).task(run.task()).method(run.method()).baseDtype(dtype)
                .config(TrainConfig.builder().maxSteps(1).seqLen(16).batchSize(2).build()).build();
    }
}
