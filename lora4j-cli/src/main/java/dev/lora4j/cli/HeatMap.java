// PNG heat maps of the subspace similarity φ(i, j) ∈ [0, 1] of Hu et al. 2021 (LoRA, arXiv 2106.09685) §7.2
// (their Figures 3 and 4): one panel per module, i down the rows and j across the columns, a fixed colour scale
// from 0 to 1 (viridis, sampled at five points) with its legend. Drawn with java.awt in headless mode.
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
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** Writes a grid of φ panels to a PNG file. */
final class HeatMap {
    /** One module's φ: {@code values[i-1][j-1]}. */
    record Panel(String title, double[][] values) {}

    private static final int[][] VIRIDIS = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    private static final int MARGIN = 16, HEADER = 56, LEFT = 44, TOP = 22, BOTTOM = 38, RIGHT = 18, LEGEND = 90;

    private HeatMap() {}

    /** The colour of a value in [0, 1] (clamped): viridis, linearly interpolated between five samples. */
    static Color color(double v) {
        double x = Math.max(0, Math.min(1, v)) * (VIRIDIS.length - 1);
        int k = Math.min((int) x, VIRIDIS.length - 2);
        double t = x - k;
        int[] a = VIRIDIS[k], b = VIRIDIS[k + 1];
        return new Color((int) Math.round(a[0] + t * (b[0] - a[0])), (int) Math.round(a[1] + t * (b[1] - a[1])),
                (int) Math.round(a[2] + t * (b[2] - a[2])));
    }

    static void write(Path file, String title, String subtitle, List<Panel> panels) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        int n = panels.size(), columns = (int) Math.ceil(Math.sqrt(n)), rows = (n + columns - 1) / columns;
        int target = n <= 2 ? 420 : n <= 9 ? 300 : 200;          // pixels a grid side aims for
        int slotW = 250, slotH = 120;
        for (Panel p : panels) {
            slotW = Math.max(slotW, LEFT + cell(target, p.values()[0].length) * p.values()[0].length + RIGHT);
            slotH = Math.max(slotH, TOP + cell(target, p.values().length) * p.values().length + BOTTOM);
        }
        int width = 2 * MARGIN + columns * slotW + LEGEND, height = HEADER + rows * slotH + MARGIN;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            Text text = new Text(g);
            text.draw(title, MARGIN, 22, 15, Font.BOLD, -1);
            text.draw(subtitle, MARGIN, 42, 12, Font.PLAIN, -1);
            for (int k = 0; k < n; k++) {
                panel(g, text, panels.get(k), MARGIN + (k % columns) * slotW, HEADER + (k / columns) * slotH, target);
            }
            legend(g, text, MARGIN + columns * slotW + 20, HEADER + TOP, Math.min(300, slotH - TOP - BOTTOM));
        } finally {
            g.dispose();
        }
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            if (!ImageIO.write(image, "png", file.toFile())) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new Lora4jException(file + ": cannot write the PNG: " + e.getMessage(), e);
        }
    }

    private static int cell(int target, int count) {
        return Math.max(3, Math.min(40, Math.round((float) target / count)));
    }

    private static void panel(Graphics2D g, Text text, Panel p, int x0, int y0, int target) {
        int ri = p.values().length, rj = p.values()[0].length, cw = cell(target, rj), ch = cell(target, ri);
        int gx = x0 + LEFT, gy = y0 + TOP;
        text.draw(p.title(), x0 + 4, y0 + 14, 12, Font.PLAIN, -1);
        for (int i = 0; i < ri; i++) {
            for (int j = 0; j < rj; j++) {
                g.setColor(color(p.values()[i][j]));
                g.fillRect(gx + j * cw, gy + i * ch, cw, ch);
            }
        }
        g.setColor(Color.DARK_GRAY);
        g.setStroke(new BasicStroke(1));
        g.drawRect(gx - 1, gy - 1, rj * cw + 1, ri * ch + 1);
        for (int i : ticks(ri)) {
            int y = gy + (i - 1) * ch + ch / 2;
            g.drawLine(gx - 4, y, gx - 2, y);
            text.draw(Integer.toString(i), gx - 6, y + 4, 10, Font.PLAIN, 1);
        }
        for (int j : ticks(rj)) {
            int x = gx + (j - 1) * cw + cw / 2;
            g.drawLine(x, gy + ri * ch + 1, x, gy + ri * ch + 3);
            text.draw(Integer.toString(j), x, gy + ri * ch + 14, 10, Font.PLAIN, 0);
        }
        text.draw("i", x0 + 8, gy + ri * ch / 2 + 4, 12, Font.ITALIC, 0);
        text.draw("j", gx + rj * cw / 2, gy + ri * ch + 30, 12, Font.ITALIC, 0);
    }

    private static void legend(Graphics2D g, Text text, int x, int y, int h) {
        for (int k = 0; k < h; k++) {
            g.setColor(color(1 - (double) k / (h - 1)));
            g.fillRect(x, y + k, 16, 1);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(x - 1, y - 1, 17, h + 1);
        for (int t = 0; t <= 4; t++) {
            int ty = y + (int) Math.round((1 - t / 4.0) * (h - 1));
            g.drawLine(x + 17, ty, x + 20, ty);
            text.draw(String.format("%.2f", t / 4.0), x + 23, ty + 4, 10, Font.PLAIN, -1);
        }
        text.draw("\u03c6(i, j)", x - 2, y - 8, 12, Font.PLAIN, -1);
    }

    /** 1, the last index, and multiples of a power-of-two step in between: at most ~8 labels. */
    static int[] ticks(int count) {
        int step = 1;
        while (count / step > 8) step *= 2;
        List<Integer> t = new ArrayList<>(List.of(1));
        for (int v = step; v < count; v += step) if (v > 1 && count - v >= step / 2.0) t.add(v);
        if (count > 1) t.add(count);
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Text with a fallback: on a JRE whose font system cannot start (no fontconfig or no fonts, as in some
     * containers) the heat map is still written, without labels, rather than failing.
     */
    private static final class Text {
        private final Graphics2D g;
        private boolean ok = true;

        Text(Graphics2D g) {
            this.g = g;
        }

        /** align: −1 left, 0 centred, 1 right of x. */
        void draw(String s, int x, int y, int size, int style, int align) {
            if (!ok) return;
            try {
                g.setFont(new Font(Font.SANS_SERIF, style, size));
                g.setColor(Color.BLACK);
                int w = align < 0 ? 0 : g.getFontMetrics().stringWidth(s);
                g.drawString(s, align < 0 ? x : align == 0 ? x - w / 2 : x - w, y);
            } catch (RuntimeException | LinkageError | InternalError e) {
                ok = false;
            }
        }
    }
}
