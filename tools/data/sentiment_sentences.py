#!/usr/bin/env python3
"""Turns the UCI "Sentiment Labelled Sentences" data set (Kotzias et al., KDD 2015), as shipped in npm
sentiment@5.0.2 (test/fixtures/{amazon,imdb,yelp}.json, unpacked), into a fixed train / valid / test split for
sequence classification. Standard library only; run by sentiment_sentences.sh.

    sentiment_sentences.py PACKAGE_DIR OUT_DIR

Each fixture is a JSON list of {"text": ..., "class": 0 | 1} (1 = positive); each ends with one empty record
{"text": "", "class": null}, which is dropped. Whitespace is collapsed and trimmed. Sentences are deduplicated by a
normalised form (lower case, letters and digits only) across the three sources, the first occurrence (sources in the
order amazon, imdb, yelp; records in file order) kept; a sentence seen under both labels would be dropped entirely.
Every (source, label) pool is sorted, shuffled with random.Random(SEED) and cut into train / valid / test by the
fractions in SPLITS, so each split has every source's share of each label; each split's lines are then shuffled with
the same generator. Lines are {"text": ..., "label": "negative" | "positive", "source": "amazon" | "imdb" | "yelp"}.
"""
import collections
import json
import os
import random
import re
import sys

SEED = 20261127
SOURCES = ("amazon", "imdb", "yelp")
LABELS = {0: "negative", 1: "positive"}
SPLITS = (("train", 0.60), ("valid", 0.15), ("test", 0.25))
_SPACE = re.compile(r"\s+")


def normalised(s):
    return re.sub(r"[\W_]+", "", s.lower())


def main(package, out):
    stats = collections.Counter()
    seen = {}  # normalised text -> (source, label, text)
    conflicting = set()
    for source in SOURCES:
        with open(os.path.join(package, "test", "fixtures", source + ".json"), encoding="utf-8") as f:
            records = json.load(f)
        for r in records:
            stats[("records", source)] += 1
            text = _SPACE.sub(" ", r["text"]).strip()
            if r["class"] is None and not text:
                stats[("empty", source)] += 1
                continue
            if r["class"] not in LABELS:
                sys.exit(f"{source}.json: class {r['class']!r} for {text!r}, expected 0 or 1")
            label = LABELS[r["class"]]
            stats[(label, source)] += 1
            key = normalised(text)
            if key in seen:
                stats[("duplicate", source)] += 1
                if seen[key][1] != label:
                    conflicting.add(key)
                continue
            seen[key] = (source, label, text)
    for key in conflicting:
        stats[("conflicting", seen[key][0])] += 1
        del seen[key]
    pools = collections.defaultdict(list)
    for source, label, text in seen.values():
        pools[(source, label)].append(text)
    rnd = random.Random(SEED)
    rows = collections.defaultdict(list)
    for stratum in sorted(pools):
        pool = sorted(pools[stratum])
        rnd.shuffle(pool)
        start, acc = 0, 0.0
        for split, fraction in SPLITS:
            acc += fraction
            end = round(acc * len(pool))
            rows[split] += [(stratum[0], stratum[1], t) for t in pool[start:end]]
            start = end
    os.makedirs(out, exist_ok=True)
    report = {"seed": SEED, "splits_fractions": dict(SPLITS), "kept": len(seen),
              "sources": {s: {k[0]: v for k, v in sorted(stats.items()) if k[1] == s} for s in SOURCES}, "splits": {}}
    for split, _ in SPLITS:
        lines = rows[split]
        rnd.shuffle(lines)
        path = os.path.join(out, split + ".jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for source, label, text in lines:
                f.write(json.dumps({"text": text, "label": label, "source": source}, ensure_ascii=False) + "\n")
        report["splits"][split] = {
            "examples": len(lines), "bytes": os.path.getsize(path),
            "labels": dict(sorted(collections.Counter(r[1] for r in lines).items())),
            "sources": dict(sorted(collections.Counter(r[0] for r in lines).items())),
            "mean_chars": round(sum(len(r[2]) for r in lines) / len(lines), 1),
        }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
