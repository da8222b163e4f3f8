#!/usr/bin/env bash
# Runs the JMH GEMM benchmarks (lora4j-jmh) with a JDK 25, the Vector API module, and AVX-512 when the CPU has it
# (as ./lora4j does). Extra arguments go to JMH, e.g. `tools/bench/jmh.sh -p shape=abt:512:2304:768 -rf json`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/bin/jdk.sh"
jar="$root/lora4j-jmh/target/benchmarks.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$root/lora4j-core/src/main" "$root/lora4j-jmh/src/main" "$root/lora4j-jmh/pom.xml" -newer "$jar" -type f -print -quit)" ]; then
  (cd "$root" && mvn -B -q -ntp -DskipTests -pl lora4j-jmh -am package) >&2
fi
jvm="--add-modules=jdk.incubator.vector -XX:+UseParallelGC"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then jvm="$jvm -XX:UseAVX=3"; fi
exec java -jar "$jar" -jvmArgs "$jvm" "$@"
