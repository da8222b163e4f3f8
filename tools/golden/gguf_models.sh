#!/usr/bin/env bash
# Regenerates the GGUF test models: the tiny HF models and adapters (gguf_models.py, numpy), then their GGUF files,
# written by lora4j's own `to-gguf` (F32). Run by hand from anywhere; the outputs are committed (testdata/gguf/).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 tools/golden/gguf_models.py
for m in tiny-llama tiny-qwen2; do
    rm -f "testdata/gguf/$m.gguf"                          # the committed file carries no marker: to-gguf would refuse it
    ./lora4j to-gguf --model "testdata/gguf/$m" --out "testdata/gguf/$m.gguf" --outtype f32
    rm -f "testdata/gguf/.$m.gguf.lora4j-output.json"      # to-gguf's ownership marker: not part of the fixture
done
