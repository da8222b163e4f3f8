package dev.lora4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.train.FineTune;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code SparkBench train}: tokens per second of the same training with 1 and with W workers (each with the batch
 * given) on an embedded Spark, one JSON line per run: the median of metrics.jsonl's tokens_per_s after the first step,
 * after one unreported run that warms the JIT up.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training throughput with 1 and with --workers workers on local[--slots]; one JSON line per run. "
                + "The parameters are train's flags without --out (e.g. --model M --data D --max-steps 10 --batch-size 4).")
final class TrainThroughputBench implements Callable<Integer> {
    @Option(names = "--workers", defaultValue = "2", description = "Workers of the second run (default: ${DEFAULT-VALUE}).")
    int workers;
    @Option(names = "--slots", defaultValue = "2", description = "N of local[N] (default: ${DEFAULT-VALUE}).")
    int slots;
    @Parameters(paramLabel = "TRAIN_FLAGS", description = "lora4j train's flags, without --out.")
    List<String> trainArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        SparkConf conf = new SparkConf().setMaster("local[" + slots + "]").setAppName("lora4j bench").set("spark.ui.enabled", "false")
                .set("spark.log.level", "WARN");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            int[] runs = {1, 1, workers};                       // the first warms the JIT up and is not reported
            for (int i = 0; i < runs.length; i++) {
                int w = runs[i];
                Path out = Files.createTempDirectory("lora4j-bench").resolve("run");
                List<String> args = new ArrayList<>(trainArgs);
                args.addAll(List.of("--out", out.toString()));
                FineTune.Result r = SparkTraining.train(sc, w, args, new FineTune.Listener() {});
                List<Double> rates = new ArrayList<>();
                for (String line : Files.readAllLines(out.resolve(FineTune.METRICS_FILE))) {
                    JsonNode n = new ObjectMapper().readTree(line);
                    if (n.has("tokens_per_s") && n.get("step").asInt() > 1) rates.add(n.get("tokens_per_s").asDouble());
                }
                rates.sort(null);
                if (i == 0) continue;
                System.out.println(new ObjectMapper().createObjectNode().put("bench", "spark-train").put("master", sc.master()).put("workers", w)
                        .put("steps", r.steps()).put("tokens_per_s_median", rates.isEmpty() ? Double.NaN : rates.get(rates.size() / 2)));
            }
        }
        return 0;
    }
}
