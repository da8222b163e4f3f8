package dev.lora4j.cli;

import dev.lora4j.Lora4jException;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A PNG line chart of series over training steps (loss per step, accuracy per evaluation), drawn with java.awt; with
 * more than one series, a legend to the right of the plot, outside the data.
 */
public final class LinePlot {
    /** One line: its name, x values (steps) and y values. */
    /** One line: its legend name, points (x, y) and colour. */
    public record Series(String name, double[] x, double[] y, Color color) {
        /** A series from (x, y) pairs. */
        public static Series of(String name, List<double[]> points, Color color) {
            return new Series(name, points.stream().mapToDouble(p -> p[0]).toArray(), points.stream().mapToDouble(p -> p[1]).toArray(), color);
        }
    }

    private static final int W = 720, H = 400, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50;

    private LinePlot() {}

    public static void write(Path file, String title, String yLabel, List<Series> series) {
        double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double v : s.x()) { x0 = Math.min(x0, v); x1 = Math.max(x1, v); }
            for (double v : s.y()) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
        }
        if (x1 <= x0) x1 = x0 + 1;
        if (y1 <= y0) { y1 = y0 + 0.5; y0 = y0 - 0.5; }
        double pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
        int legendWidth = series.size() > 1 ? 190 : 0;
        BufferedImage img = new BufferedImage(W + legendWidth, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W + legendWidth, H);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
        for (int i = 0; i <= 5; i++) {
            int py = TOP + ph - i * ph / 5, px = LEFT + i * pw / 5;
            g.setColor(new Color(230, 230, 230));
            g.drawLine(LEFT, py, LEFT + pw, py);
            g.drawLine(px, TOP, px, TOP + ph);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.3g", y0 + (y1 - y0) * i / 5), 24, py + 4);
            g.drawString(String.format("%.0f", x0 + (x1 - x0) * i / 5), px - 10, TOP + ph + 18);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, LEFT, 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("step", LEFT + pw / 2 - 12, H - 12);
        java.awt.geom.AffineTransform plain = g.getTransform();       // the y label, vertical along the axis
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(TOP + ph / 2 + 4 * yLabel.length()), 16);
        g.setTransform(plain);
        int legend = 0;
        for (Series s : series) {
            g.setColor(s.color());
            g.setStroke(new BasicStroke(2f));
            for (int i = 1; i < s.x().length; i++) {
                g.drawLine(px(s.x()[i - 1], x0, x1, pw), py(s.y()[i - 1], y0, y1, ph), px(s.x()[i], x0, x1, pw), py(s.y()[i], y0, y1, ph));
            }
            if (s.x().length == 1) g.fillOval(px(s.x()[0], x0, x1, pw) - 3, py(s.y()[0], y0, y1, ph) - 3, 6, 6);
            if (legendWidth > 0) {
                int ly = TOP + 12 + 18 * legend++;
                g.drawLine(W - RIGHT + 14, ly - 4, W - RIGHT + 34, ly - 4);
                g.setColor(Color.DARK_GRAY);
                g.drawString(s.name(), W - RIGHT + 40, ly);
            }
        }
        g.dispose();
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            ImageIO.write(img, "png", tmp.toFile());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot write the plot: " + e.getMessage(), e);
        }
    }

    private static int px(double x, double x0, double x1, int pw) {
        return LEFT + (int) Math.round((x - x0) / (x1 - x0) * pw);
    }

    private static int py(double y, double y0, double y1, int ph) {
        return TOP + ph - (int) Math.round((y - y0) / (y1 - y0) * ph);
    }
}
