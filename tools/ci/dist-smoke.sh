#!/usr/bin/env bash
# The CLI archive runs outside the source tree: unpack lora4j-dist's .tar.gz into a temporary directory and run
# --version, inspect and a 2-step train there, with a copy of the tiny GPT-2 and a few lines of text.
set -euo pipefail
cd "$(dirname "$0")/../.."
archive=$(ls lora4j-dist/target/lora4j-*.tar.gz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$archive" -C "$work"
home=$(ls -d "$work"/lora4j-*)
cp -r testdata/gpt2-tiny "$work/model"
head -c 4000 testdata/moby-dick/train.txt > "$work/text.txt"
cd "$work"
"$home/bin/lora4j" --version | grep -E '^lora4j [0-9].* \(commit [0-9a-f]+'
"$home/bin/lora4j" inspect model | grep -q 'transformer.h.0.attn.c_attn'
"$home/bin/lora4j" train --model model --data text.txt --out adapter --max-steps 2 --seq-len 16 --batch-size 2 > train.log
test -f adapter/adapter_model.safetensors && test -f adapter/checkpoints/latest
echo "dist smoke: $(basename "$archive") runs from $home (version, inspect, 2-step train)"
