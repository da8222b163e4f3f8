package dev.lora4j.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.data.LabelMap;
import dev.lora4j.data.LabelledTexts;
import dev.lora4j.eval.ClassificationMetrics;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Labelled text files (JSONL, CSV, TSV), label maps, and the classification metrics on a hand-computed case. */
class ClassificationDataAndMetricsTest {
    @TempDir
    Path tmp;

    @Test
    void metricsOfAHandComputedConfusionMatrix() {
        // actual A A A A A A B B B B B B, predicted A A A A A B A A B B B C; class D never occurs
        int[] actual = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
        int[] predicted = {0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 2};
        ClassificationMetrics m = ClassificationMetrics.of(actual, predicted, 4);
        assertArrayEquals(new long[] {5, 1, 0, 0}, m.confusion()[0]);
        assertArrayEquals(new long[] {2, 3, 1, 0}, m.confusion()[1]);
        assertEquals(8.0 / 12, m.accuracy(), 1e-12);
        assertEquals(5.0 / 7, m.precision(0), 1e-12);
        assertEquals(5.0 / 6, m.recall(0), 1e-12);
        assertEquals(50.0 / 65, m.f1(0), 1e-12);
        assertEquals(0.6, m.f1(1), 1e-12);
        assertEquals(0.0, m.f1(2), 1e-12, "predicted once, never right");
        assertEquals(List.of(0, 1, 2), m.presentClasses(), "D is in neither the labels nor the predictions: sklearn leaves it out");
        assertEquals((50.0 / 65 + 0.6 + 0) / 3, m.macroF1(), 1e-12);
    }

    @Test
    void jsonlWithStringOrIntegerLabels() throws IOException {
        LabelledTexts s = LabelledTexts.read(write("s.jsonl", "{\"text\": \"good\", \"label\": \"pos\"}\n\n{\"text\": \"bad\", \"label\": \"neg\"}\n"));
        assertEquals(List.of("neg", "pos"), s.labelMap().id2label(), "names sorted");
        assertArrayEquals(new int[] {1, 0}, s.labelIds(s.labelMap()));
        assertEquals(3, s.examples().get(1).line());

        LabelledTexts i = LabelledTexts.read(write("i.jsonl", "{\"text\": \"a\", \"label\": 2}\n{\"text\": \"b\", \"label\": \"0\"}\n"));
        assertEquals(List.of("0", "1", "2"), i.labelMap().id2label(), "integer labels are class ids");
        assertArrayEquals(new int[] {2, 0}, i.labelIds(new LabelMap(List.of("NEG", "NEUTRAL", "POS"))), "ids under a named map");
    }

    @Test
    void csvWithQuotesAndTsvWithExtraColumns() throws IOException {
        LabelledTexts c = LabelledTexts.read(write("q.csv",
                "\uFEFFtext,label\r\n\"hello, \"\"world\"\"\",greeting\r\n\"two\nlines\",other\nplain,greeting\n"));
        assertEquals(3, c.size());
        assertEquals("hello, \"world\"", c.examples().get(0).text());
        assertEquals("two\nlines", c.examples().get(1).text());
        assertEquals(5, c.examples().get(2).line(), "a record's line counts the newlines inside quotes before it");
        LabelledTexts t = LabelledTexts.read(write("t.tsv", "id\tlabel\ttext\n1\tx\tsome text, with a comma\n"));
        assertEquals("some text, with a comma", t.examples().get(0).text());
        assertEquals("x", t.examples().get(0).label());

        LabelledTexts jsonl = LabelledTexts.read(TestData.dir("labelled").resolve("train.jsonl"));
        LabelledTexts csv = LabelledTexts.read(TestData.dir("labelled").resolve("valid.csv"));
        LabelledTexts tsv = LabelledTexts.read(TestData.dir("labelled").resolve("valid.tsv"));
        assertEquals(List.of("negative", "positive"), jsonl.labelMap().id2label());
        assertEquals(csv.examples().stream().map(LabelledTexts.Example::text).toList(),
                tsv.examples().stream().map(LabelledTexts.Example::text).toList());
        assertArrayEquals(csv.labelIds(jsonl.labelMap()), tsv.labelIds(jsonl.labelMap()));
    }

    @Test
    void badLinesAndUnknownLabelsNameTheFileAndLine() throws IOException {
        assertError("a.jsonl", "{\"text\": \"x\", \"label\": \"p\"}\n{\"text\": \"y\", \"label\"\n", "a.jsonl:2: not valid JSON");
        assertError("b.jsonl", "{\"text\": \"x\"}\n", "b.jsonl:1: \"label\" is missing");
        assertError("c.jsonl", "{\"text\": \"x\", \"label\": 1.5}\n", "c.jsonl:1: \"label\" is 1.5");
        assertError("d.jsonl", "{\"label\": \"p\"}\n", "d.jsonl:1: expected an object with \"text\"");
        assertError("e.csv", "text,label\na,b\nc\n", "e.csv:3: expected 2 fields");
        assertError("f.csv", "text,label\n\"open,b\n", "f.csv:2: a quoted field is not closed");
        assertError("g.csv", "text,category\na,b\n", "g.csv:1: the header [text, category] has no");
        assertError("h.csv", "text,label\na,\n", "h.csv:2: the label is empty");
        assertError("i.txt", "x\n", "unsupported labelled data file type");

        LabelledTexts data = LabelledTexts.read(write("u.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"maybe\"}\n"));
        String msg = assertThrows(Lora4jException.class, () -> data.labelIds(new LabelMap(List.of("neg", "pos")))).getMessage();
        assertTrue(msg.contains("u.jsonl:2: label \"maybe\" is not one of the model's labels [neg, pos]"), msg);
    }

    @Test
    void labelMapJsonRoundTripsAndReadsHfId2Label() throws IOException {
        LabelMap m = new LabelMap(List.of("ham", "spam"));
        m.write(tmp);
        String json = Files.readString(tmp.resolve(LabelMap.FILE));
        assertTrue(json.contains("\"id2label\"") && json.contains("\"label2id\"") && json.contains("single_label_classification"), json);
        assertEquals(m, LabelMap.read(tmp.resolve(LabelMap.FILE)));
        Files.writeString(tmp.resolve("bad.json"), "{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}");
        String msg = assertThrows(Lora4jException.class, () -> LabelMap.read(tmp.resolve("bad.json"))).getMessage();
        assertTrue(msg.contains("bad.json") && msg.contains("ids must be 0..1"), msg);
    }

    private void assertError(String name, String content, String expected) throws IOException {
        Path f = write(name, content);
        String msg = assertThrows(Lora4jException.class, () -> LabelledTexts.read(f)).getMessage();
        assertTrue(msg.contains(expected), "expected '" + expected + "' in: " + msg);
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(tmp.resolve(name), content);
    }
}
