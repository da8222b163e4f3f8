// Inputs that are not regular files: a FIFO must be refused before it is opened (opening one for reading blocks
// until a writer comes, i.e. forever), and a directory, FIFO, dangling link or link loop is named as what it is,
// not "not found". The timeout turns a regression (a hang) into a failure.
package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.Documents;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.lora.AdapterIO;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.model.ModelLoader;
import dev.lora4j.onnx.OnnxModel;
import dev.lora4j.testing.TestData;
import dev.lora4j.tokenizer.ChatTemplate;
import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class InputFileTest {
    private final Path tiny = TestData.dir("gpt2-tiny");
    @TempDir
    Path tmp;

    static void mkfifo(Path path) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no mkfifo on this system");
            return;
        }
        assertEquals(0, p.waitFor(), "mkfifo " + path);
    }

    private static void assertError(Executable call, String... parts) {
        String msg = assertThrows(Lora4jException.class, call).getMessage();
        for (String s : parts) assertTrue(msg.contains(s), "'" + s + "' not in: " + msg);
    }

    @Test
    void eachKindOfNonRegularFileIsNamed() throws Exception {
        Path fifo = tmp.resolve("fifo");
        mkfifo(fifo);
        assertError(() -> InputFile.requireRegular(fifo, "a JSON file"), "fifo: is a FIFO (named pipe), not a regular file", "a JSON file");
        assertError(() -> InputFile.requireRegular(tmp, "a JSON file"), "is a directory, expected a JSON file");
        Path loop = Files.createSymbolicLink(tmp.resolve("loop"), tmp.resolve("loop"));
        assertError(() -> InputFile.requireRegular(loop, "a JSON file"), "loop: is a symbolic link loop");
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("gone"));
        assertError(() -> InputFile.requireRegular(dangling, "a JSON file"), "dangling: is a symbolic link to", "gone, which does not exist");
        assertError(() -> InputFile.requireRegular(tmp.resolve("absent"), "a JSON file"), "absent: not found");
        assertError(() -> InputFile.requireDirectory(fifo, "a model directory"), "is a FIFO (named pipe), expected a model directory");
        Path file = Files.writeString(tmp.resolve("file.txt"), "x");
        assertError(() -> InputFile.requireDirectory(file, "a model directory"), "file.txt: is a file, expected a model directory");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), file);
        assertEquals(link, InputFile.requireRegular(link, "a JSON file"), "a link to a regular file is one");
    }

    @Test
    void everyModelFileThatIsAFifoIsRefusedInsteadOfBlocking() throws Exception {
        for (String name : List.of("config.json", "model.safetensors")) {
            Path dir = copyOfTiny(name);
            mkfifo(dir.resolve(name));
            assertError(() -> ModelLoader.load(dir), name + ": is a FIFO");
        }
        Path dir = copyOfTiny("tokenizer.json");
        mkfifo(dir.resolve("tokenizer.json"));
        assertError(() -> Tokenizer.load(dir), "tokenizer.json: is a FIFO");
        Path chat = Files.createDirectories(tmp.resolve("chat"));
        mkfifo(chat.resolve("tokenizer_config.json"));
        assertError(() -> ChatTemplate.load(chat), "tokenizer_config.json: is a FIFO");
        Path onnx = tmp.resolve("model.onnx");
        mkfifo(onnx);
        assertError(() -> OnnxModel.read(onnx), "model.onnx: is a FIFO");
        Path loop = Files.createSymbolicLink(tmp.resolve("looped"), tmp.resolve("looped"));
        assertError(() -> ModelLoader.load(loop), "looped: is a symbolic link loop");
    }

    @Test
    void adapterAndDataFifosAreRefused() throws Exception {
        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        Files.writeString(adapter.resolve(AdapterIO.CONFIG_FILE), LoraConfig.defaults("gpt2").toJson());
        mkfifo(adapter.resolve(AdapterIO.WEIGHTS_FILE));
        assertError(() -> AdapterIO.load(adapter, ModelLoader.load(tiny)), "adapter_model.safetensors: is a FIFO");
        Path adapter2 = Files.createDirectories(tmp.resolve("adapter2"));
        Files.copy(tiny.resolve("model.safetensors"), adapter2.resolve(AdapterIO.WEIGHTS_FILE));
        mkfifo(adapter2.resolve(AdapterIO.CONFIG_FILE));
        assertError(() -> AdapterIO.load(adapter2, ModelLoader.load(tiny)), "adapter_config.json: is a FIFO");
        for (String name : List.of("data.txt", "data.jsonl")) {
            mkfifo(tmp.resolve(name));
            assertError(() -> Documents.load(tmp.resolve(name), null, 50257), name + ": is a FIFO");
        }
        mkfifo(tmp.resolve("labels.csv"));
        assertError(() -> LabelledTexts.read(tmp.resolve("labels.csv")), "labels.csv: is a FIFO");
        assertError(() -> Documents.load(tmp, null, 50257), "is a directory, expected a data file");
    }

    private Path copyOfTiny(String except) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model-" + except));
        try (var files = Files.list(tiny)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals(except)) Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }
}
