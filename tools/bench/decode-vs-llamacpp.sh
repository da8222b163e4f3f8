#!/usr/bin/env bash
# Decoding against llama.cpp on the same GGUF files (issue 17), JSON lines on stdout; run it on a quiet machine:
#   tools/bench/decode-vs-llamacpp.sh [prompt-len (128)] [new-tokens (128)] [threads (2)] [runs (3)]
# 1. the machine's copy bandwidth (CopyBandwidth.java): the speed of light of a decoding step is weight bytes ÷ bandwidth;
# 2. a randomly initialised model of Qwen2.5-0.5B's shape (`lora4j init` from tools/bench/qwen2.5-0.5b.json) written as GGUF
#    f32 and q8_0 by `lora4j to-gguf` (its tokenizer GPT-2's BPE, padded to the 151,936 embedding rows as to-gguf does),
#    and as q4_K by llama.cpp's own quantizer (LlamaCppQuantize.java: Q4_K where rows
#    are whole 256-value blocks, down_proj here; Q5_0 for the 896-wide rows, llama.cpp's own fallback);
# 3. for each file, one after the other: `lora4j bench generate --model F` and tools/bench/llama_cpp_generate.mjs (the
#    same file, prompt length, new tokens, threads; greedy), each printing prefill and decode tokens/s and the weight
#    bytes a decoding step reads (bandwidth reached = bytes × decode tokens/s).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/bin/jdk.sh"
prompt_len="${1:-128}"
new_tokens="${2:-128}"
threads="${3:-2}"
runs="${4:-3}"
jar="$root/lora4j-cli/target/lora4j.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -ntp -DskipTests -pl lora4j-core,lora4j-server,lora4j-cli package) >&2
. "$root/bin/jvm-flags.sh" "$root"
java=("$JAVA_HOME/bin/java" "${jvm_flags[@]}" "-Dlora4j.threads=$threads")
node_modules="${LORA4J_NODE_LLAMA_CPP:-$HOME/.cache/lora4j/node-llama-cpp-3.21.1}/node_modules"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$JAVA_HOME/bin/java" "$root/tools/bench/CopyBandwidth.java" "$threads"

"${java[@]}" -jar "$jar" init --config "$root/tools/bench/qwen2.5-0.5b.json" --tokenizer "$root/testdata/gpt2-tiny-sotu" --out "$work/qwen" >/dev/null
for t in f32 q8_0; do
  "${java[@]}" -jar "$jar" to-gguf --model "$work/qwen" --out "$work/qwen-$t.gguf" --outtype "$t" >/dev/null 2>&1
done
rm -rf "$work/qwen"
"$JAVA_HOME/bin/java" -Xmx12g --enable-native-access=ALL-UNNAMED -cp "$jar" "$root/tools/bench/LlamaCppQuantize.java" \
  "$node_modules/@node-llama-cpp/linux-x64/bins/linux-x64" "$work/qwen-f32.gguf" "$work/qwen-q4_k.gguf" >&2

for t in f32 q8_0 q4_k; do
  f="$work/qwen-$t.gguf"
  "${java[@]}" -jar "$jar" bench generate --model "$f" --prompt-len "$prompt_len" --new-tokens "$new_tokens" --runs "$runs" \
    2>"$work/lora4j.log" | sed "s|$work/||" || { cat "$work/lora4j.log" >&2; exit 1; }
  NODE_PATH="$node_modules" node "$root/tools/bench/llama_cpp_generate.mjs" --model "$f" --prompt-len "$prompt_len" \
    --new-tokens "$new_tokens" --threads "$threads" --runs "$runs" | sed "s|$work/||"
done
