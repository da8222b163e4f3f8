// Seeds for the Jazzer fuzz tests: valid inputs plus deterministic, structure-aware variants of them.
// In the normal suite (Jazzer's regression mode) these variants are the smoke run; with -Pfuzz they
// are the starting corpus that Jazzer's coverage-guided mutation grows from.
package dev.lora4j.testing;

import dev.lora4j.Lora4jException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;

/**
 * A {@link Mutator} turns one input into a variant; {@link #seeds} names each input by its seed and
 * index ("mutant 17 of tiny bert (seed 20260102)"), so a failing one can be regenerated from the test alone.
 */
public final class Fuzz {
    /** Variants per fuzz test in the normal suite; a few seconds per parser in all. */
    public static final int MUTANTS = 300;

    /** The longest any one input may take. */
    public static final Duration LIMIT = Duration.ofSeconds(2);

    /** Runs the parser, one input at a time, so that a hang can be abandoned (one thread, reused: fast). */
    private static ExecutorService worker = newWorker();

    /** Integers that break size arithmetic: zero, -1, the int and long limits, lengths past any file. */
    private static final long[] INTERESTING = {0, 1, -1, 2, 127, 128, 255, 256, 65535, 65536, Integer.MAX_VALUE,
            Integer.MAX_VALUE + 1L, Integer.MIN_VALUE, 0xFFFF_FFFFL, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE,
            100_000_000, 100_000_001, 999_999_999, 1L << 40};

    /** JSON values that parsers mistake for each other: other types, huge and non-finite numbers, escapes. */
    private static final List<String> JSON_VALUES = List.of("0", "-1", "1", "2147483647", "2147483648", "-2147483649",
            "9223372036854775807", "9223372036854775808", "99999999999999999999999", "1e308", "1e309", "-0.0",
            "0.5", "1.0", "-1e-320", "NaN", "Infinity", "-Infinity", "\"\"", "\"0\"", "\"NaN\"", "\"\\u0000\"",
            "\"\\u001b[31mred\"", "\"\\ud800\"", "true", "false", "null", "[]", "{}", "[1,2,3]", "[-1]", "[null]",
            "[\"a\",1]", "{\"a\":1}", "\"" + "x".repeat(5000) + "\"");

    /** Bytes that end or open a token in text formats. */
    private static final String SPECIAL = "\0\n\r\t\"\\{}[],:\u007f";

    private Fuzz() {}

    /**
     * The property every fuzz test checks: {@code parse} succeeds or throws a {@link Lora4jException}
     * within {@link #LIMIT}; any other throwable (OutOfMemoryError and StackOverflowError included)
     * propagates and a slower run fails, so the fuzzer reports the input.
     */
    public static void parsesOrRejects(Target parse) throws Throwable {
        Future<?> run = worker.submit(() -> {
            try {
                parse.run();
            } catch (Lora4jException expected) {
                // a clean rejection with a message for the user
            }
            return null;
        });
        try {
            run.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        } catch (TimeoutException e) {
            run.cancel(true);
            worker = newWorker(); // the old thread may never finish
            throw new AssertionError("the parser ran longer than " + LIMIT.toSeconds() + " s");
        }
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("fuzz-target").factory());
    }

    /** A parser run on one input. */
    @FunctionalInterface
    public interface Target {
        void run() throws Exception;
    }

    /** Turns an input into a variant, drawing every choice from {@code rnd}. */
    @FunctionalInterface
    public interface Mutator {
        byte[] mutate(byte[] input, Random rnd);
    }

    /**
     * The valid inputs, then {@code count} variants: each applies 1 to 3 mutations of {@code mutator}
     * to a valid input chosen by {@code Random(seed)}; the same arguments give the same stream.
     */
    public static Stream<Named<byte[]>> seeds(Map<String, byte[]> valid, Mutator mutator, long seed, int count) {
        List<Map.Entry<String, byte[]>> inputs = List.copyOf(valid.entrySet());
        Random rnd = new Random(seed);
        List<Named<byte[]>> out = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : inputs) out.add(Named.of(e.getKey(), e.getValue()));
        for (int i = 0; i < count; i++) {
            Map.Entry<String, byte[]> base = inputs.get(rnd.nextInt(inputs.size()));
            byte[] b = base.getValue();
            for (int k = 1 + rnd.nextInt(3); k > 0; k--) b = mutator.mutate(b, rnd);
            out.add(Named.of("mutant " + i + " of " + base.getKey() + " (seed " + seed + ")", b));
        }
        return out.stream();
    }

    /** Picks one of {@code mutators} per mutation. */
    public static Mutator oneOf(Mutator... mutators) {
        return (in, rnd) -> mutators[rnd.nextInt(mutators.length)].mutate(in, rnd);
    }

    /**
     * Format-blind mutations: bit flips, byte inserts and deletes, interesting integers (1, 2, 4 or 8
     * bytes little-endian, or in decimal) at random offsets, truncation, duplicated ranges, and the
     * {@code tokens} (delimiters, keywords of the format) inserted anywhere.
     */
    public static Mutator bytes(String... tokens) {
        return (in, rnd) -> {
            int n = in.length;
            int at = n == 0 ? 0 : rnd.nextInt(n + 1);
            return switch (rnd.nextInt(tokens.length == 0 ? 8 : 9)) {
                case 0 -> {
                    if (n == 0) yield new byte[] {(byte) rnd.nextInt(256)};
                    byte[] b = in.clone();
                    int i = rnd.nextInt(n);
                    b[i] ^= (byte) (1 << rnd.nextInt(8));
                    yield b;
                }
                case 1 -> splice(in, at, at, new byte[] {(byte) rnd.nextInt(256)});
                case 2 -> splice(in, at, Math.min(n, at + 1 + rnd.nextInt(16)), new byte[0]);
                case 3 -> {
                    int width = 1 << rnd.nextInt(4);
                    byte[] v = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(interesting(rnd)).array();
                    byte[] w = new byte[width];
                    System.arraycopy(v, 0, w, 0, width);
                    yield splice(in, at, Math.min(n, at + width), w);
                }
                case 4 -> splice(in, at, at, Long.toString(interesting(rnd)).getBytes(StandardCharsets.US_ASCII));
                case 5 -> Arrays.copyOf(in, n == 0 ? 0 : rnd.nextInt(n));
                case 6 -> {
                    int from = n == 0 ? 0 : rnd.nextInt(n);
                    int to = Math.min(n, from + 1 + rnd.nextInt(64));
                    yield splice(in, at, at, Arrays.copyOfRange(in, from, to));
                }
                case 7 -> {
                    if (n == 0) yield new byte[] {'{'};
                    byte[] b = in.clone();
                    b[rnd.nextInt(n)] = (byte) SPECIAL.charAt(rnd.nextInt(SPECIAL.length()));
                    yield b;
                }
                default -> splice(in, at, at, tokens[rnd.nextInt(tokens.length)].getBytes(StandardCharsets.UTF_8));
            };
        };
    }

    /**
     * JSON-aware mutations of one JSON text: a value replaced by another type, a huge or non-finite
     * number or a value found elsewhere in the document; a member removed or repeated (duplicate key);
     * a value nested 10 to 5,000 deep; a member added with a key from {@code keys}. Text that does not
     * parse gets a {@link #bytes} mutation instead.
     */
    public static Mutator json(String... keys) {
        Mutator fallback = bytes(keys);
        return (in, rnd) -> {
            Json.Value root;
            try {
                root = Json.parse(new String(in, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                return fallback.mutate(in, rnd);
            }
            List<Json.Value> all = new ArrayList<>();
            root.collect(all);
            Json.Value target = all.get(rnd.nextInt(all.size()));
            switch (rnd.nextInt(6)) {
                case 0 -> target.raw = JSON_VALUES.get(rnd.nextInt(JSON_VALUES.size()));
                case 1 -> target.raw = all.get(rnd.nextInt(all.size())).toString();
                case 2 -> target.omit = target != root;
                case 3 -> target.repeat = true;
                case 4 -> {
                    int depth = new int[] {10, 100, 999, 1001, 5000}[rnd.nextInt(5)];
                    boolean arrays = rnd.nextBoolean();
                    target.raw = (arrays ? "[" : "{\"a\":").repeat(depth) + target + (arrays ? "]" : "}").repeat(depth);
                }
                default -> {
                    List<Json.Value> objects = all.stream().filter(v -> v.members != null && !v.isArray).toList();
                    String value = JSON_VALUES.get(rnd.nextInt(JSON_VALUES.size()));
                    if (objects.isEmpty() || keys.length == 0) {
                        target.raw = value;
                    } else {
                        Json.Value obj = objects.get(rnd.nextInt(objects.size()));
                        obj.members.put(keys[rnd.nextInt(keys.length)] + "\u0000" + obj.members.size(), new Json.Value(value));
                    }
                }
            }
            return root.toString().getBytes(StandardCharsets.UTF_8);
        };
    }

    /** Line-level mutations of a text file (a line repeated, removed, joined, blanked, CRLF), or {@code perLine} applied to one line. */
    public static Mutator lines(Mutator perLine) {
        return (in, rnd) -> {
            List<String> lines = new ArrayList<>(List.of(new String(in, StandardCharsets.UTF_8).split("\n", -1)));
            int i = rnd.nextInt(lines.size());
            switch (rnd.nextInt(6)) {
                case 0 -> lines.add(i, lines.get(i));
                case 1 -> lines.remove(i);
                case 2 -> lines.set(i, lines.get(i) + (i + 1 < lines.size() ? lines.remove(i + 1) : ""));
                case 3 -> lines.add(i, rnd.nextBoolean() ? "" : " \t");
                case 4 -> lines.set(i, lines.get(i) + "\r");
                default -> lines.set(i, new String(perLine.mutate(lines.get(i).getBytes(StandardCharsets.UTF_8), rnd),
                        StandardCharsets.UTF_8));
            }
            return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
        };
    }

    /**
     * Safetensors-aware mutations: the JSON header mutated by {@code header} with the 8-byte length
     * rewritten to match, the length set to an interesting value, or the data block cut or extended.
     */
    public static Mutator safetensors(Mutator header) {
        return (in, rnd) -> {
            if (in.length < 8) return bytes().mutate(in, rnd);
            ByteBuffer buf = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
            long n = buf.getLong(0);
            if (n < 0 || n > in.length - 8) return bytes().mutate(in, rnd);
            byte[] json = Arrays.copyOfRange(in, 8, 8 + (int) n);
            byte[] data = Arrays.copyOfRange(in, 8 + (int) n, in.length);
            return switch (rnd.nextInt(4)) {
                case 0, 1 -> {
                    byte[] h = header.mutate(json, rnd);
                    yield concat(le64(h.length), h, data);
                }
                case 2 -> {
                    long[] lengths = {n - 1, n + 1, in.length - 8, in.length - 7, interesting(rnd)};
                    yield concat(le64(lengths[rnd.nextInt(lengths.length)]), json, data);
                }
                default -> concat(le64(n), json, rnd.nextBoolean()
                        ? Arrays.copyOf(data, data.length == 0 ? 0 : rnd.nextInt(data.length))
                        : concat(data, new byte[1 + rnd.nextInt(64)]));
            };
        };
    }

    /**
     * Protobuf-aware mutations: the message is parsed as wire format (a length-delimited field that
     * parses as a message is treated as one) and a field's varint set to an interesting value, its wire
     * type or number changed, the field dropped, repeated or moved; lengths are then written to match,
     * or, one time in four, one length is set to an interesting value so that it no longer matches.
     */
    public static Mutator protobuf() {
        Mutator fallback = bytes();
        return (in, rnd) -> {
            List<Proto.Field> root = Proto.parse(in, 0, in.length, 0);
            if (root == null || root.isEmpty()) return fallback.mutate(in, rnd);
            List<Proto.Field> all = new ArrayList<>();
            List<List<Proto.Field>> owners = new ArrayList<>();
            Proto.collect(root, all, owners);
            int pick = rnd.nextInt(all.size());
            Proto.Field f = all.get(pick);
            List<Proto.Field> owner = owners.get(pick);
            switch (rnd.nextInt(7)) {
                case 0 -> {
                    f.wireType = 0;
                    f.children = null;
                    f.value = interesting(rnd);
                }
                case 1 -> f.wireType = new int[] {0, 1, 2, 3, 4, 5, 6, 7}[rnd.nextInt(8)];
                case 2 -> f.number = (int) Math.max(1, Math.min(536_870_911, f.number + rnd.nextInt(5) - 2));
                case 3 -> owner.remove(f);
                case 4 -> owner.add(rnd.nextInt(owner.size() + 1), f.copy());
                case 5 -> {
                    owner.remove(f);
                    owner.add(rnd.nextInt(owner.size() + 1), f);
                }
                default -> {
                    if (f.payload != null && f.children == null) f.payload = fallback.mutate(f.payload, rnd);
                    else f.value = interesting(rnd);
                }
            }
            int badField = rnd.nextInt(4) == 0 ? rnd.nextInt(all.size()) : -1;
            long badLength = interesting(rnd);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Proto.write(root, out, all, badField, badLength);
            return out.toByteArray();
        };
    }

    private static long interesting(Random rnd) {
        long v = INTERESTING[rnd.nextInt(INTERESTING.length)];
        return rnd.nextInt(4) == 0 ? v + rnd.nextInt(3) - 1 : v;
    }

    private static byte[] splice(byte[] in, int from, int to, byte[] insert) {
        byte[] out = new byte[in.length - (to - from) + insert.length];
        System.arraycopy(in, 0, out, 0, from);
        System.arraycopy(insert, 0, out, from, insert.length);
        System.arraycopy(in, to, out, from + insert.length, in.length - to);
        return out;
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    public static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    /** A JSON tree that keeps member order, writes edited values as raw text and can repeat or omit one. */
    static final class Json {
        static final class Value {
            String raw;
            LinkedHashMap<String, Value> members;
            boolean isArray, omit, repeat;

            Value(String raw) {
                this.raw = raw;
            }

            void collect(List<Value> out) {
                out.add(this);
                if (members != null && raw == null) for (Value v : members.values()) v.collect(out);
            }

            @Override
            public String toString() {
                if (raw != null) return raw;
                StringBuilder s = new StringBuilder(isArray ? "[" : "{");
                boolean first = true;
                for (Map.Entry<String, Value> e : members.entrySet()) {
                    Value v = e.getValue();
                    if (v.omit) continue;
                    for (int k = v.repeat ? 2 : 1; k > 0; k--) {
                        if (!first) s.append(',');
                        first = false;
                        if (!isArray) s.append(quote(e.getKey().replaceAll("\u0000\\d+$", ""))).append(':');
                        s.append(v);
                    }
                }
                return s.append(isArray ? ']' : '}').toString();
            }
        }

        /** Parses strict JSON (plus NaN and Infinity tokens, kept as raw text); throws IllegalArgumentException. */
        static Value parse(String text) {
            Json p = new Json(text);
            Value v = p.value(0);
            p.space();
            if (p.i != text.length()) throw new IllegalArgumentException("trailing text");
            return v;
        }

        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        private Value value(int depth) {
            if (depth > 200) throw new IllegalArgumentException("too deep");
            space();
            if (i >= s.length()) throw new IllegalArgumentException("end");
            char c = s.charAt(i);
            if (c == '{' || c == '[') {
                boolean array = c == '[';
                Value v = new Value(null);
                v.isArray = array;
                v.members = new LinkedHashMap<>();
                i++;
                space();
                if (i < s.length() && s.charAt(i) == (array ? ']' : '}')) {
                    i++;
                    return v;
                }
                while (true) {
                    String key = Integer.toString(v.members.size());
                    if (!array) {
                        space();
                        key = string() + "\u0000" + v.members.size();
                        space();
                        expect(':');
                    }
                    v.members.put(key, value(depth + 1));
                    space();
                    if (i < s.length() && s.charAt(i) == ',') {
                        i++;
                    } else {
                        expect(array ? ']' : '}');
                        return v;
                    }
                }
            }
            int start = i;
            if (c == '"') {
                string();
            } else {
                while (i < s.length() && "{}[],: \t\r\n".indexOf(s.charAt(i)) < 0) i++;
                if (i == start) throw new IllegalArgumentException("unexpected " + c);
            }
            return new Value(s.substring(start, i));
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (i < s.length() && s.charAt(i) != '"') {
                if (s.charAt(i) == '\\') {
                    if (i + 1 >= s.length()) break;
                    out.append(s, i, i + 2);
                    i += 2;
                } else {
                    out.append(s.charAt(i++));
                }
            }
            expect('"');
            return out.toString();
        }

        private void expect(char c) {
            if (i >= s.length() || s.charAt(i) != c) throw new IllegalArgumentException("expected " + c);
            i++;
        }

        private void space() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
        }

        /** Keys are kept as they were written (escapes included), so quoting only adds the quotes. */
        private static String quote(String escapedKey) {
            return "\"" + escapedKey + "\"";
        }
    }

    /** Protobuf wire format, field by field, re-encoded with matching lengths. */
    static final class Proto {
        static final class Field {
            int number, wireType;
            long value;
            byte[] payload;
            List<Field> children;

            Field copy() {
                Field f = new Field();
                f.number = number;
                f.wireType = wireType;
                f.value = value;
                f.payload = payload;
                if (children != null) {
                    f.children = new ArrayList<>();
                    for (Field c : children) f.children.add(c.copy());
                }
                return f;
            }
        }

        /** The fields of {@code b[from, to)}, or null if it is not a well-formed message. */
        static List<Field> parse(byte[] b, int from, int to, int depth) {
            List<Field> out = new ArrayList<>();
            int[] pos = {from};
            while (pos[0] < to) {
                long tag = varint(b, pos, to);
                if (tag < 8 || tag > 0xFFFF_FFFFL) return null;
                Field f = new Field();
                f.number = (int) (tag >>> 3);
                f.wireType = (int) (tag & 7);
                switch (f.wireType) {
                    case 0 -> f.value = varint(b, pos, to);
                    case 1, 5 -> {
                        int width = f.wireType == 1 ? 8 : 4;
                        if (pos[0] + width > to) return null;
                        f.payload = Arrays.copyOfRange(b, pos[0], pos[0] + width);
                        pos[0] += width;
                    }
                    case 2 -> {
                        long len = varint(b, pos, to);
                        if (pos[0] < 0 || len < 0 || len > to - pos[0]) return null;
                        int end = pos[0] + (int) len;
                        List<Field> nested = depth < 32 && len > 0 ? parse(b, pos[0], end, depth + 1) : null;
                        if (nested != null) f.children = nested;
                        else f.payload = Arrays.copyOfRange(b, pos[0], end);
                        pos[0] = end;
                    }
                    default -> {
                        return null;
                    }
                }
                if (pos[0] < 0) return null;
                out.add(f);
            }
            return out;
        }

        static void collect(List<Field> fields, List<Field> all, List<List<Field>> owners) {
            for (Field f : fields) {
                all.add(f);
                owners.add(fields);
                if (f.children != null) collect(f.children, all, owners);
            }
        }

        /** Writes {@code fields}; the length of {@code all.get(badField)}, if it has one, is written as {@code badLength}. */
        static void write(List<Field> fields, ByteArrayOutputStream out, List<Field> all, int badField, long badLength) {
            for (Field f : fields) {
                writeVarint(out, ((long) f.number << 3) | f.wireType);
                switch (f.wireType) {
                    case 0 -> writeVarint(out, f.value);
                    case 1, 5 -> {
                        int width = f.wireType == 1 ? 8 : 4;
                        byte[] p = f.payload != null ? f.payload : le64(f.value);
                        out.write(Arrays.copyOf(p, width), 0, width);
                    }
                    case 2 -> {
                        byte[] body;
                        if (f.children != null) {
                            ByteArrayOutputStream nested = new ByteArrayOutputStream();
                            write(f.children, nested, all, badField, badLength);
                            body = nested.toByteArray();
                        } else {
                            body = f.payload != null ? f.payload : new byte[0];
                        }
                        boolean bad = badField >= 0 && all.get(badField) == f;
                        writeVarint(out, bad ? badLength : body.length);
                        out.writeBytes(body);
                    }
                    default -> { } // groups and invalid wire types: the tag alone
                }
            }
        }

        /** A varint at {@code pos[0]}; sets {@code pos[0]} to -1 if it runs past {@code to}. */
        private static long varint(byte[] b, int[] pos, int to) {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos[0] >= to) {
                    pos[0] = -1;
                    return 0;
                }
                byte x = b[pos[0]++];
                v |= (long) (x & 0x7F) << shift;
                if (x >= 0) return v;
            }
            pos[0] = -1;
            return 0;
        }

        private static void writeVarint(ByteArrayOutputStream out, long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
