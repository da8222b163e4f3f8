package dev.lora4j.cli.lab;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The tables of {@code lora4j experiment} from its runs' result.json: every run on the validation split (when there
 * is a grid), the chosen run of each configuration with its test metrics, and the targets for LoRA r=8.
 */
final class ExperimentReport {
    private ExperimentReport() {}

    /** Every run of every configuration on the validation split, the chosen one marked. */
    static List<String> selection(Collection<List<JsonNode>> groups) {
        List<String> t = new ArrayList<>();
        t.add("| configuration | lr | epochs | validation accuracy | validation macro-F1 | validation loss | chosen |");
        t.add("|---|---:|---:|---:|---:|---:|---|");
        for (List<JsonNode> group : groups) {
            for (JsonNode r : group) {
                t.add(String.format("| %s | %s | %d | %.4f | %.4f | %.4f | %s |", r.get("name").asText(), r.get("lr").asText(), r.get("epochs").asInt(),
                        r.get("valid_accuracy").asDouble(), r.get("valid_macro_f1").asDouble(), r.get("valid_loss").asDouble(),
                        r.has("accuracy") ? "yes" : ""));
            }
        }
        return t;
    }

    /** The chosen run of each configuration: its grid point, validation and test metrics, size, memory and time. */
    static List<String> table(List<JsonNode> chosen, long baseBytes) {
        List<String> t = new ArrayList<>();
        t.add("| configuration | lr | epochs | validation accuracy | test accuracy | macro-F1 | trainable parameters | saved file (vs base checkpoint) | peak memory (RSS) | training time | wall time |");
        t.add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (JsonNode r : chosen) {
            long trainable = r.get("trainable_params").asLong(), total = r.get("total_params").asLong(), saved = r.get("saved_bytes").asLong();
            t.add(String.format("| %s | %s | %d | %.4f | %.4f | %.4f | %,d (%.2f %%) | %s (%s) | %,.0f MB | %.1f s | %.1f s |", r.get("name").asText(),
                    r.get("lr").asText(), r.get("epochs").asInt(), r.get("valid_accuracy").asDouble(), r.get("accuracy").asDouble(),
                    r.get("macro_f1").asDouble(), trainable, 100.0 * trainable / total, size(saved),
                    saved < baseBytes ? String.format("%.0f× smaller", (double) baseBytes / saved) : String.format("%.2f×", (double) saved / baseBytes),
                    r.get("peak_rss_mb").asDouble(), r.get("train_runtime_s").asDouble(), r.get("wall_s").asDouble()));
        }
        return t;
    }

    /** The targets for LoRA r=8 against full fine-tuning, each marked met or not, and DoRA r=8 beside it. */
    static List<String> targets(List<JsonNode> chosen, long baseBytes) {
        JsonNode r8 = find(chosen, "lora-r8"), dora = find(chosen, "dora-r8"), full = find(chosen, "full");
        List<String> v = new ArrayList<>();
        if (r8 == null || full == null) return v;
        double gap = gap(r8, full);
        double pct = 100.0 * r8.get("trainable_params").asDouble() / r8.get("total_params").asDouble();
        double smaller = (double) baseBytes / r8.get("saved_bytes").asDouble();
        double mem = r8.get("peak_rss_mb").asDouble() / full.get("peak_rss_mb").asDouble();
        v.add("Targets (LoRA r=8 against full fine-tuning):");
        v.add(String.format("- accuracy within 0.5 points of full fine-tuning or better: %+.2f points — %s", gap, gap >= -0.5 ? "met" : "NOT met"));
        v.add(String.format("- under 1 %% of the parameters trainable: %.2f %% — %s", pct, pct < 1 ? "met" : "NOT met"));
        v.add(String.format("- adapter at least 100× smaller than the checkpoint: %.0f× — %s", smaller, smaller >= 100 ? "met" : "NOT met"));
        v.add(String.format("- peak memory below full fine-tuning's: %.2f× of it — %s", mem, mem < 1 ? "met" : "NOT met"));
        if (dora != null) {
            v.add(String.format("- beside it, DoRA r=8: %+.2f points against full fine-tuning (%+.2f against LoRA r=8), %.2f %% trainable",
                    gap(dora, full), gap(dora, r8), 100.0 * dora.get("trainable_params").asDouble() / dora.get("total_params").asDouble()));
        }
        return v;
    }

    private static double gap(JsonNode a, JsonNode b) {
        return 100 * (a.get("accuracy").asDouble() - b.get("accuracy").asDouble());
    }

    private static JsonNode find(List<JsonNode> chosen, String group) {
        return chosen.stream().filter(r -> r.get("group").asText().equals(group)).findFirst().orElse(null);
    }

    private static String size(long bytes) {
        return bytes >= 1 << 20 ? String.format("%.1f MB", bytes / 1048576.0) : String.format("%.0f KB", bytes / 1024.0);
    }
}
