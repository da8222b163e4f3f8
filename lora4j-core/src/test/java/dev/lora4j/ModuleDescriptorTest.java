package dev.lora4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** module-info exports every package of lora4j-core but the kernels, which stay internal. */
class ModuleDescriptorTest {
    @Test
    void everyPackageButTheKernelsIsExported() throws IOException, java.net.URISyntaxException {
        Path classes = Path.of(dev.lora4j.train.FineTune.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor d;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            d = ModuleDescriptor.read(in);
        }
        assertEquals("dev.lora4j.core", d.name());
        Set<String> packages;
        try (Stream<Path> files = Files.walk(classes.resolve("dev/lora4j"))) {
            packages = files.filter(f -> f.toString().endsWith(".class")).map(f -> classes.relativize(f.getParent()).toString().replace('/', '.'))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        packages.removeAll(Set.of("dev.lora4j.kernels", "dev.lora4j.kernels.panama"));
        assertEquals(packages, d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toCollection(TreeSet::new)));
        assertEquals(Set.of(), d.exports().stream().filter(ModuleDescriptor.Exports::isQualified).collect(Collectors.toSet()));
    }
}
