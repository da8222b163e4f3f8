package example;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example runs against the installed artifacts: a broken public API or a missing dependency fails here. */
class FineTuneExampleTest {
    @TempDir
    Path tmp;

    @Test
    void fineTunesSavesReloadsAndGenerates() {
        Path testdata = Path.of(System.getProperty("lora4j.testdata"));
        String text = FineTuneExample.run(testdata.resolve("gpt2-tiny"), testdata.resolve("moby-dick/train.txt"), tmp.resolve("adapter"), 2,
                "Call me Ishmael.");
        assertFalse(text.isEmpty());
        assertTrue(Files.isRegularFile(tmp.resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(tmp.resolve("adapter/adapter_config.json")));
    }
}
