package dev.lora4j.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The committed fixtures in {@code testdata/} (made by tools/golden/, see testdata/README.md). */
public final class TestData {
    private TestData() {}

    public static Path dir(String name) {
        Path root = Path.of(System.getProperty("lora4j.testdata", "../testdata"));
        Path p = root.resolve(name);
        if (!Files.isDirectory(p)) throw new IllegalStateException("test fixture directory missing: " + p.toAbsolutePath());
        return p;
    }

    public static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    /** Max |a − b| over max |b|: the relative error the goldens are held to. */
    public static double relativeError(float[] actual, float[] expected) {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs((double) expected[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }
}
