#!/usr/bin/env bash
# Load test of `lora4j serve` on loopback, bounded in requests and time: trains 8 small adapters on the tiny SOTU GPT-2
# (a few steps each), serves them, runs serve_load.mjs (throughput, p50/p99 TTFT and per-token latency at 1, 4 and 16
# clients; base alone vs 1 adapter vs 8 distinct adapters), then serve_overload.mjs against a server with a small
# queue (429s, no lost or corrupted responses). Usage: tools/bench/serve-load.sh [MODEL_DIR] [requests-per-client] [max-tokens] [rounds]
# Numbers from a shared machine are not benchmarks: record them only from a quiet one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/bin/jdk.sh"
model="${1:-$root/testdata/gpt2-tiny-sotu}"
per_client="${2:-4}"
max_tokens="${3:-32}"
rounds="${4:-3}"
jar="$root/lora4j-cli/target/lora4j.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -ntp -DskipTests -pl lora4j-cli -am package) >&2
java=("$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector -XX:+UseParallelGC --enable-native-access=ALL-UNNAMED)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then java+=(-XX:UseAVX=3); fi
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
adapters=()
names=()
for i in 0 1 2 3 4 5 6 7; do
  "${java[@]}" -jar "$jar" train --model "$model" --data "$root/testdata/moby-dick/train.txt" --out "$work/a$i" --targets all-linear \
    --rank 8 --lr 2e-2 --max-steps 3 --seq-len 32 --batch-size 4 --seed "$i" >/dev/null 2>&1
  adapters+=(--adapter "a$i=$work/a$i")
  names+=("a$i")
done
serve() {  # serve PORT_FILE extra-flags...: starts the server, waits for its port
  local log="$1"; shift
  "${java[@]}" -jar "$jar" serve --model "$model" --port 0 "${adapters[@]}" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    port="$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 | sed 's/.*://')" && [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  return 1
}
base_id="$(basename "$model")"
serve "$work/serve.log" --max-batch 16 --max-loras 8 --max-queue 64
node "$root/tools/bench/serve_load.mjs" "http://127.0.0.1:$port" "$base_id" "$(IFS=,; echo "${names[*]}")" "$per_client" "$max_tokens" "$rounds"
kill -TERM "$pid"; wait "$pid" || true; pid=""
serve "$work/overload.log" --max-batch 2 --max-queue 2
node "$root/tools/bench/serve_overload.mjs" "http://127.0.0.1:$port" a0 64
kill -TERM "$pid"; wait "$pid" || true; pid=""
