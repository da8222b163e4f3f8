package dev.lora4j.spark;

import dev.lora4j.cli.Main;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;

/**
 * The main class for spark-submit: {@code spark-submit --class dev.lora4j.spark.SparkMain lora4j-spark.jar train --model M
 * --data D --out O [train flags]}. It is the lora4j command line, with {@code train} sent to the master spark-submit
 * chose (its {@code --master}) unless {@code --spark-master} is given.
 */
public final class SparkMain {
    private SparkMain() {}

    public static void main(String[] args) {
        List<String> a = new ArrayList<>(List.of(args));
        String command = a.stream().filter(s -> !s.startsWith("-")).findFirst().orElse("");
        if (command.equals("train") && a.stream().noneMatch(s -> s.equals("--spark-master") || s.startsWith("--spark-master="))) {
            a.add("--spark-master");
            a.add(new SparkConf().get("spark.master", "local[*]"));
        }
        Main.main(a.toArray(String[]::new));
    }
}
