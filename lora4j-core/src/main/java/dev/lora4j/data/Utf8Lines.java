// Reads a data file line by line as strict UTF-8: an invalid byte is an error naming the line and the byte offset
// (Java's own readers say only "Input length = 1"), and the file is streamed, never held whole as bytes.
// Lines split at '\n' only, which never occurs inside a multi-byte UTF-8 sequence; each keeps its line break.
package dev.lora4j.data;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Not thread-safe; close it (it holds the open file). */
final class Utf8Lines implements AutoCloseable {
    private final Path file;
    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final byte[] block = new byte[1 << 16];
    private int blockPos, blockEnd;
    private byte[] line = new byte[256];
    private long lineStart;     // byte offset in the file of the line being read
    private int lineNumber;

    Utf8Lines(Path file) {
        this.file = file;
        try {
            this.in = Files.newInputStream(file);
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The whole file as one string (each line with its line break, so exactly the file's text). */
    static String readString(Path file) {
        try (Utf8Lines lines = new Utf8Lines(file)) {
            StringBuilder sb = new StringBuilder();
            for (String l = lines.next(); l != null; l = lines.next()) sb.append(l);
            return sb.toString();
        }
    }

    /** The next line with its '\n' (the last line may have none), or null at the end of the file. */
    String next() {
        int n = 0;
        try {
            while (true) {
                if (blockPos == blockEnd) {
                    blockEnd = in.read(block);
                    blockPos = 0;
                    if (blockEnd <= 0) {
                        blockEnd = 0;
                        break;
                    }
                }
                int i = blockPos;
                while (i < blockEnd && block[i] != '\n') i++;
                boolean complete = i < blockEnd;
                int take = (complete ? i + 1 : i) - blockPos;
                if (n + take > line.length) line = Arrays.copyOf(line, Math.max(2 * line.length, n + take));
                System.arraycopy(block, blockPos, line, n, take);
                n += take;
                blockPos += take;
                if (complete) break;
            }
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (n == 0) return null;
        lineNumber++;
        String text = decode(n);
        lineStart += n;
        return text;
    }

    /** 1-based number of the line {@link #next} returned last. */
    int lineNumber() {
        return lineNumber;
    }

    private String decode(int n) {
        ByteBuffer bytes = ByteBuffer.wrap(line, 0, n);
        CharBuffer chars = CharBuffer.allocate(n);   // UTF-8 never has more characters than bytes
        decoder.reset();
        CoderResult r = decoder.decode(bytes, chars, true);
        if (!r.isError()) r = decoder.flush(chars);
        if (r.isError()) {
            int at = bytes.position();
            throw new Lora4jException(file + ":" + lineNumber + ": not UTF-8: byte 0x" + String.format("%02X", line[at] & 0xFF)
                    + " at byte offset " + (lineStart + at) + " of the file (byte " + (at + 1) + " of the line); save the file as UTF-8");
        }
        return chars.flip().toString();
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot close: " + e.getMessage(), e);
        }
    }
}
