#!/usr/bin/env bash
# Data-parallel benchmarks (lora4j-spark), JSON lines on stdout; run them on a quiet machine:
#   tools/bench/spark.sh allreduce [--preset gpt2-small-r8|llama-1b-all-linear-r16] [--workers W] [--rounds N]
#   tools/bench/spark.sh train [--workers W] [--slots N] -- --model M --data D --max-steps 10 --batch-size 4 [train flags]
# allreduce: one all-reduce of the preset's adapter gradients, W workers as threads over loopback; train: tokens/s of
# the same run with 1 and with W workers (batch per worker) on local[N].
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/bin/jdk.sh"
. "$root/bin/spark-classpath.sh"
jvm=(--add-modules=jdk.incubator.vector -XX:+UseParallelGC --enable-native-access=ALL-UNNAMED)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then jvm+=(-XX:UseAVX=3); fi
exec "$JAVA_HOME/bin/java" "${jvm[@]}" -cp "$LORA4J_SPARK_CP" dev.lora4j.spark.SparkBench "$@"
