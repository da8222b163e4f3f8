// The labels a classifier gets from its training data: integer labels are class ids, so a stray huge id must be
// refused before a head (or a label list) of that size is built, one class is refused, and ids with no example are
// reported; plus the strict JSONL and UTF-8 reading the data files share with Documents.
package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class LabelledTextsTest {
    @TempDir
    Path tmp;

    private Path write(String name, String content) throws IOException {
        return Files.writeString(tmp.resolve(name), content);
    }

    private static void assertError(Executable call, String... parts) {
        String msg = assertThrows(Lora4jException.class, call).getMessage();
        for (String p : parts) assertTrue(msg.contains(p), "'" + p + "' not in: " + msg);
    }

    @Test
    void aHugeClassIdIsRefusedNamingFileLineAndValue() throws IOException {
        LabelledTexts stray = LabelledTexts.read(write("stray.jsonl",
                "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 999999999}\n{\"text\": \"c\", \"label\": 1}\n"));
        assertError(stray::labelMap, "stray.jsonl:2: label 999999999 is a class id, so it asks for 1000000000 classes",
                "with 3 examples integer labels must be below 30", "as names");
        LabelledTexts sparse = LabelledTexts.read(write("sparse.csv", "text,label\n" + "x,0\n".repeat(2000) + "y,10000\n"));
        assertError(sparse::labelMap, "sparse.csv:2002: label 10000", "must be below 10000");
        LabelledTexts dense = LabelledTexts.read(write("dense.csv", "text,label\nx,0\ny,1\nz,29\n"));
        assertEquals(30, dense.labelMap().size(), "below 10 × 3 examples");
    }

    @Test
    void oneClassIsRefusedAndMissingClassIdsAreReported() throws IOException {
        LabelledTexts one = LabelledTexts.read(write("one.jsonl", "{\"text\": \"a\", \"label\": \"spam\"}\n{\"text\": \"b\", \"label\": \"spam\"}\n"));
        assertError(one::labelMap, "one.jsonl: every example has the label \"spam\": a classifier needs examples of at least two classes");

        LabelledTexts gappy = LabelledTexts.read(write("gappy.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 5}\n"));
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertEquals(List.of("0", "1", "2", "3", "4", "5"), gappy.labelMap().id2label(), "each id up to the largest is a class");
        } finally {
            System.setErr(err);
        }
        String warning = captured.toString(StandardCharsets.UTF_8);
        assertTrue(warning.contains("gappy.jsonl: integer labels are class ids 0..5, but no example has ids 1, 2, 3, 4"), warning);
    }

    @Test
    void jsonlIsStrictAndTextMustBeUtf8() throws IOException {
        Path dup = write("dup.jsonl", "{\"text\": \"a\", \"label\": \"x\", \"label\": \"y\"}\n");
        assertError(() -> LabelledTexts.read(dup), "dup.jsonl:1: not valid JSON", "Duplicate field 'label'");
        Path two = write("two.jsonl", "{\"text\": \"a\", \"label\": \"x\"} {\"text\": \"b\", \"label\": \"y\"}\n");
        assertError(() -> LabelledTexts.read(two), "two.jsonl:1: a second JSON value starts at column 29");
        Path latin1 = Files.write(tmp.resolve("latin1.csv"), "text,label\ncaf\u00e9,x\n".getBytes(StandardCharsets.ISO_8859_1));
        assertError(() -> LabelledTexts.read(latin1), "latin1.csv:2: not UTF-8: byte 0xE9 at byte offset 14 of the file (byte 4 of the line)");
    }
}
