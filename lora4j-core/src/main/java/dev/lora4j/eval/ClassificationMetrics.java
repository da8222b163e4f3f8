package dev.lora4j.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * Classification quality from a confusion matrix {@code confusion[actual][predicted]} (counts), as scikit-learn
 * defines it: accuracy = trace / total; per class precision = tp / predicted, recall = tp / actual, F1 their
 * harmonic mean (0 when a denominator is 0, sklearn's zero_division); macro-F1 the unweighted mean of F1 over
 * the classes that occur as an actual or a predicted label (f1_score(average="macro")'s default labels).
 */
public record ClassificationMetrics(long[][] confusion) {
    public ClassificationMetrics {
        for (long[] row : confusion) {
            if (row.length != confusion.length) throw new IllegalArgumentException("the confusion matrix must be square");
        }
    }

    /** Counts pairs (actual[i], predicted[i]) of ids in [0, numLabels). */
    public static ClassificationMetrics of(int[] actual, int[] predicted, int numLabels) {
        if (actual.length != predicted.length) throw new IllegalArgumentException(actual.length + " labels but " + predicted.length + " predictions");
        long[][] m = new long[numLabels][numLabels];
        for (int i = 0; i < actual.length; i++) m[actual[i]][predicted[i]]++;
        return new ClassificationMetrics(m);
    }

    public int numLabels() {
        return confusion.length;
    }

    public long total() {
        long n = 0;
        for (long[] row : confusion) for (long v : row) n += v;
        return n;
    }

    public double accuracy() {
        long correct = 0;
        for (int c = 0; c < confusion.length; c++) correct += confusion[c][c];
        return total() == 0 ? 0 : (double) correct / total();
    }

    /** Times class c was the actual label. */
    public long support(int c) {
        long n = 0;
        for (long v : confusion[c]) n += v;
        return n;
    }

    /** Times class c was predicted. */
    public long predicted(int c) {
        long n = 0;
        for (long[] row : confusion) n += row[c];
        return n;
    }

    public double precision(int c) {
        return predicted(c) == 0 ? 0 : (double) confusion[c][c] / predicted(c);
    }

    public double recall(int c) {
        return support(c) == 0 ? 0 : (double) confusion[c][c] / support(c);
    }

    public double f1(int c) {
        double p = precision(c), r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /** The classes that occur as an actual or a predicted label. */
    public List<Integer> presentClasses() {
        List<Integer> out = new ArrayList<>();
        for (int c = 0; c < confusion.length; c++) if (support(c) > 0 || predicted(c) > 0) out.add(c);
        return out;
    }

    public double macroF1() {
        List<Integer> present = presentClasses();
        double sum = 0;
        for (int c : present) sum += f1(c);
        return present.isEmpty() ? 0 : sum / present.size();
    }
}
