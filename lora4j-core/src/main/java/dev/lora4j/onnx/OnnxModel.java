// An ONNX model read whole into memory: versions, producer and the graph, weights decoded on demand.
// Follows onnx.proto3 `ModelProto` (ONNX 1.17); the protobuf wire format is read directly, so no
// generated classes are needed. Files keep their weights inline: protobuf caps a file at 2 GiB.
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import dev.lora4j.io.InputFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/** Immutable; {@link OnnxWriter} writes copies with some initializers replaced. */
public final class OnnxModel {
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    private final String source;
    private final byte[] file;
    private final long irVersion;
    private final Map<String, Long> opsetImports;
    private final String producerName;
    private final String producerVersion;
    private final OnnxGraph graph;

    OnnxModel(String source, byte[] file, long irVersion, Map<String, Long> opsetImports, String producerName,
              String producerVersion, OnnxGraph graph) {
        this.source = source;
        this.file = file;
        this.irVersion = irVersion;
        this.opsetImports = Map.copyOf(opsetImports);
        this.producerName = producerName;
        this.producerVersion = producerVersion;
        this.graph = graph;
    }

    /**
     * Reads and validates an {@code .onnx} file.
     *
     * @throws Lora4jException if it is missing, unreadable, truncated or not a valid ONNX model, if a
     *     tensor's values do not fill its dims, or if weights are kept outside the file (external data)
     */
    public static OnnxModel read(Path path) {
        InputFile.requireRegular(path, "an .onnx file");
        try {
            if (Files.size(path) > MAX_BYTES) {
                throw new Lora4jException(path + ": larger than 2 GiB; such models keep their weights as external"
                        + " data, which is not supported");
            }
            return OnnxReader.read(Files.readAllBytes(path), path.toString());
        } catch (NoSuchFileException e) {
            throw new Lora4jException(path + ": not found", e);
        } catch (IOException e) {
            throw new Lora4jException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads a model from a stream (a class-path resource, say); {@code source} names it in errors. */
    public static OnnxModel read(InputStream in, String source) {
        try {
            return OnnxReader.read(in.readAllBytes(), source);
        } catch (IOException e) {
            throw new Lora4jException(source + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Where the model came from, as used in error messages. */
    public String source() {
        return source;
    }

    public long irVersion() {
        return irVersion;
    }

    /** Operator set versions by domain; the default ONNX domain is "". */
    public Map<String, Long> opsetImports() {
        return opsetImports;
    }

    /** The version of the default ONNX operator set, 0 if none is imported. */
    public long opset() {
        return opsetImports.getOrDefault("", 0L);
    }

    public String producerName() {
        return producerName;
    }

    public String producerVersion() {
        return producerVersion;
    }

    public OnnxGraph graph() {
        return graph;
    }

    /** The bytes of the file, shared: never modify them. */
    byte[] file() {
        return file;
    }
}
