package dev.lora4j.cli;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress bars on stderr with rate and ETA, drawn only when a person is watching a terminal. */
public final class Progress {
    private Progress() {}

    public static ProgressBar bar(String task, long total, String unit) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(unit, 1)
                .setStyle(ProgressBarStyle.ASCII).showSpeed().setUpdateIntervalMillis(500);
        if (System.console() == null) b.setConsumer(new DelegatingProgressBarConsumer(s -> {}));
        return b.build();
    }
}
