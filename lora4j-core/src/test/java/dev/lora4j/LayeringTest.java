package dev.lora4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packages of lora4j-core form layers, checked on the compiled classes (ArchUnit) so that the layering stays
 * true: a package depends only on packages below it in {@link #LAYERS}, so no two packages depend on each other.
 * The root package (Lora4jException) is usable from everywhere.
 */
class LayeringTest {
    /** Top to bottom: the facades, the pipeline, what uses models, LoRA, the models, their inputs, the engine. */
    static final List<String> LAYERS = List.of(
            "inference",
            "train",
            "analysis",
            "eval",
            "generate",
            "lora",
            "model",
            "model.bert",
            "model.llama",
            "model.gpt2",
            "onnx",
            "data",
            "tokenizer",
            "nn",
            "io.gguf",
            "io",
            "autograd",
            "kernels.panama",
            "kernels",
            "linalg",
            "tensor");

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.lora4j");
    }

    @Test
    void everyPackageDependsOnlyOnTheLayersBelowIt() {
        Set<String> violations = new TreeSet<>();
        Set<String> unknown = new TreeSet<>();
        for (JavaClass c : classes) {
            String from = layerName(c);
            if (from == null) continue;
            int rank = LAYERS.indexOf(from);
            if (rank < 0) {
                unknown.add(from);
                continue;
            }
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String to = layerName(d.getTargetClass());
                if (to == null || to.equals(from)) continue;
                if (LAYERS.indexOf(to) <= rank) violations.add(from + " -> " + to + " (" + c.getSimpleName() + " uses " + d.getTargetClass().getSimpleName() + ")");
            }
        }
        assertEquals(Set.of(), unknown, "packages missing from LAYERS");
        assertEquals(Set.of(), violations, "dependencies that go up or sideways");
    }

    @Test
    void noPackageCycles() {
        SlicesRuleDefinition.slices().matching("dev.lora4j.(**)").should().beFreeOfCycles().check(classes);
    }

    /** The package below dev.lora4j ("model.bert"), or null for the root package and for classes outside lora4j. */
    private static String layerName(JavaClass c) {
        String p = c.getPackageName();
        if (!p.startsWith("dev.lora4j.")) return null;
        return p.substring("dev.lora4j.".length());
    }
}
