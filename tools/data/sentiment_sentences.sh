#!/usr/bin/env bash
# Rebuilds testdata/sentiment-sentences/{train,valid,test}.jsonl ({"text": ..., "label": "negative"|"positive",
# "source": ...}) from the UCI "Sentiment Labelled Sentences" data set (Kotzias et al., KDD 2015; CC BY 4.0) as shipped
# in npm sentiment@5.0.2 (test/fixtures/{amazon,imdb,yelp}.json; the package is MIT): whitespace collapsed,
# deduplicated, split 60 / 15 / 25 % per (source, label) with a fixed seed. The processing is sentiment_sentences.py
# (Python 3.8+, standard library only); it prints per-source and per-split counts.
# Needs npm (registry access) and python3. Deterministic: the same package gives byte-identical files.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent sentiment@5.0.2 >/dev/null && tar xzf sentiment-5.0.2.tgz)
sha256sum "$tmp/sentiment-5.0.2.tgz"
out="$root/testdata/sentiment-sentences"
mkdir -p "$out"
python3 "$root/tools/data/sentiment_sentences.py" "$tmp/package" "$out"
wc -c "$out"/*.jsonl
