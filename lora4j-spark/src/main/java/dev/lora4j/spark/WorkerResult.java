package dev.lora4j.spark;

import java.io.Serializable;
import java.util.HashMap;

/**
 * What a worker's task returns to the driver: rank 0's step count, training time and last evaluation, or the message of
 * a failure that every worker met alike (a diverged run), which a restart would only meet again.
 */
record WorkerResult(int rank, int steps, double trainSeconds, HashMap<String, Double> lastEval, String error) implements Serializable {}
