#!/usr/bin/env bash
# Frozen-base dtypes for LoRA training (issue 13's table), JSON lines on stdout; run it on a quiet machine:
#   tools/bench/base-dtypes.sh [shape-steps] [loss-steps]
# 1. Speed and memory: a randomly initialised model of Qwen2.5-0.5B's shape (qwen2: 24 layers, d 896, 14 heads, 2 KV
#    heads, d_ff 4864, vocab 151936, tied head; `lora4j init`), `lora4j train` LoRA r=8 on q_proj,v_proj, batch 4 × 128
#    tokens of moby-dick, for each --base-dtype: median tokens/s over the steps after the first, and the process's peak
#    resident set. Random weights make its loss meaningless, so:
# 2. Quality: the SOTU-pretrained tiny GPT-2 (testdata/gpt2-tiny-sotu), the same LoRA run per dtype, and the mean of
#    the last 5 training losses relative to float32's.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/bin/jdk.sh"
shape_steps="${1:-3}"
loss_steps="${2:-60}"
jar="$root/lora4j-cli/target/lora4j.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -ntp -DskipTests -pl lora4j-cli -am package) >&2
java=("$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector -XX:MaxRAMPercentage=75 -XX:+UseParallelGC -XX:MinHeapFreeRatio=5
      -XX:MaxHeapFreeRatio=20 --enable-native-access=ALL-UNNAMED)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then java+=(-XX:UseAVX=3); fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$root/testdata/moby-dick/train.txt"
dtypes=(f32 bf16 q8_0 q4_0 nf4)

cat >"$work/qwen2.5-0.5b.json" <<'EOF'
{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 151936, "hidden_size": 896,
 "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
 "max_position_embeddings": 1024, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
 "hidden_act": "silu", "torch_dtype": "float32"}
EOF
"${java[@]}" -jar "$jar" init --config "$work/qwen2.5-0.5b.json" --tokenizer "$root/testdata/gpt2-tiny-sotu" --out "$work/qwen" >/dev/null

# run MODEL DTYPE STEPS LABEL: one training run, one JSON line (tokens/s median over steps 2.., peak RSS, losses)
run() {
  local model="$1" dtype="$2" steps="$3" label="$4"
  local out="$work/run-$label-$dtype"
  "${java[@]}" -jar "$jar" train --model "$model" --data "$data" --out "$out" --base-dtype "$dtype" --max-steps "$steps" \
    --batch-size 4 --seq-len 128 --rank 8 --lr 1e-3 --save-every 0 >"$work/train.log" 2>&1 || { cat "$work/train.log" >&2; exit 1; }
  python3 - "$out/metrics.jsonl" "$label" "$dtype" <<'PY'
import json, statistics, sys
path, label, dtype = sys.argv[1:]
lines = [json.loads(l) for l in open(path)]
steps = [l for l in lines if "step" in l and "loss" in l]
end = [l for l in lines if "peak_rss_mb" in l][-1]
tps = [s["tokens_per_s"] for s in steps[1:]] or [steps[0]["tokens_per_s"]]
print(json.dumps({"model": label, "base_dtype": dtype, "steps": len(steps), "tokens_per_s_median": round(statistics.median(tps), 1),
                  "tokens_per_s_min": round(min(tps), 1), "tokens_per_s_max": round(max(tps), 1), "peak_rss_mb": round(end["peak_rss_mb"]),
                  "loss_last5_mean": round(statistics.mean(s["loss"] for s in steps[-5:]), 5)}), flush=True)
PY
  rm -rf "$out"
}

for d in "${dtypes[@]}"; do run "$work/qwen" "$d" "$shape_steps" qwen2.5-0.5b-shape; done
for d in "${dtypes[@]}"; do run "$root/testdata/gpt2-tiny-sotu" "$d" "$loss_steps" gpt2-tiny-sotu; done
