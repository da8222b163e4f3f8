// Fuzzes classification data: LabelledTexts.read of .jsonl, .csv and .tsv (the input's first byte
// picks the format), then labelMap and labelIds as training does.
// Any outcome but success or a Lora4jException fails.
package dev.lora4j.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lora4j.testing.Fuzz;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

class LabelledTextsFuzzTest {
    private static final List<String> FORMATS = List.of("jsonl", "csv", "tsv");
    private static final String[] TOKENS = {"\"", "\"\"", ",", "\t", "\r\n", "\n", "\r", "text", "label", "\uFEFF", "0", "7",
            "\"label\": 3", "\"label\": \"x\""};

    @TempDir
    static Path dir;

    /** testdata/labelled's three files and one with class ids for labels, each behind the byte that selects its format. */
    static Stream<Named<byte[]>> seeds() throws IOException {
        Map<String, byte[]> valid = new LinkedHashMap<>();
        for (String file : new String[] {"train.jsonl", "valid.csv", "valid.tsv"}) {
            byte[] content = Files.readAllBytes(TestData.dir("labelled").resolve(file));
            byte format = (byte) FORMATS.indexOf(file.substring(file.indexOf('.') + 1));
            valid.put(file, Fuzz.concat(new byte[] {format}, content));
        }
        valid.put("class ids.jsonl", Fuzz.concat(new byte[] {0}, "{\"text\": \"good\", \"label\": 1}\n{\"text\": \"bad\", \"label\": 0}\n"
                .getBytes(StandardCharsets.UTF_8)));
        Fuzz.Mutator content = Fuzz.oneOf(Fuzz.lines(Fuzz.json(TOKENS)), Fuzz.bytes(TOKENS));
        return Fuzz.seeds(valid, (in, rnd) -> Fuzz.concat(new byte[] {in[0]}, content.mutate(Arrays.copyOfRange(in, 1, in.length), rnd)),
                20260106L, Fuzz.MUTANTS);
    }

    @MethodSource("seeds")
    @FuzzTest
    void fuzz(byte[] input) throws Throwable {
        if (input.length == 0) return;
        Path file = Files.write(dir.resolve("data." + FORMATS.get(Math.floorMod(input[0], FORMATS.size()))),
                Arrays.copyOfRange(input, 1, input.length));
        Fuzz.parsesOrRejects(() -> {
            LabelledTexts data = LabelledTexts.read(file);
            data.labelIds(data.labelMap());
        });
    }
}
