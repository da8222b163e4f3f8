# Sourced by ./lora4j and the distribution's bin/lora4j: the JVM flags lora4j runs with, in the array jvm_flags.
# The Vector API module; 512-bit vectors where the CPU has AVX-512 (HotSpot picks 256-bit by default); a heap that may
# grow to 75 % of the machine's memory but is kept close to what is live (heap free ratios), so the resident set
# tracks the real need. $1 is lora4j's home (where testdata/ lies), passed on as -Dlora4j.home.
jvm_flags=(--add-modules=jdk.incubator.vector -XX:MaxRAMPercentage=75 -XX:+UseParallelGC -XX:MinHeapFreeRatio=5
           -XX:MaxHeapFreeRatio=20 --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true "-Dlora4j.home=$1")
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then jvm_flags+=(-XX:UseAVX=3); fi
