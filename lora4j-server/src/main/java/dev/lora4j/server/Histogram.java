// A Prometheus histogram: cumulative bucket counts, sum and count, written in the text exposition format.
package dev.lora4j.server;

import java.util.Locale;

/** Thread-safe (synchronized: observations are rare next to a decoding step). */
final class Histogram {
    private final String name;
    private final String help;
    private final double[] bounds;
    private final long[] counts;
    private double sum;
    private long count;

    Histogram(String name, String help, double... bounds) {
        this.name = name;
        this.help = help;
        this.bounds = bounds.clone();
        this.counts = new long[bounds.length];
    }

    synchronized void observe(double value) {
        for (int i = 0; i < bounds.length; i++) if (value <= bounds[i]) counts[i]++;
        sum += value;
        count++;
    }

    synchronized void write(StringBuilder out) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" histogram\n");
        for (int i = 0; i < bounds.length; i++) {
            out.append(name).append("_bucket{le=\"").append(number(bounds[i])).append("\"} ").append(counts[i]).append('\n');
        }
        out.append(name).append("_bucket{le=\"+Inf\"} ").append(count).append('\n');
        out.append(name).append("_sum ").append(number(sum)).append('\n');
        out.append(name).append("_count ").append(count).append('\n');
    }

    static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%s", v);
    }
}
