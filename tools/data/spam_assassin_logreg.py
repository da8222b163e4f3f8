#!/usr/bin/env python3
"""A second frozen-encoder reference for docs/results-spam-assassin.md: logistic regression on the frozen
all-MiniLM-L6-v2 sentence embeddings (mean pooling over the real tokens, L2-normalised: what `lora4j embed` gives,
truncated to 128 tokens like the training runs) of testdata/spam-assassin. The L2 strength is picked on valid.jsonl;
test.jsonl is scored once per strength, all printed. Needs numpy; run from the repository root:

    python3 tools/data/spam_assassin_logreg.py MODEL.onnx [CACHE_DIR]

Embeddings are cached in CACHE_DIR (default /tmp/spam-assassin-embeddings) as <split>.json.
"""
import json
import os
import subprocess
import sys

import numpy as np

CHUNK = 200  # texts per `lora4j embed` call (keeps the command line well under the kernel's limit)


def embed(model, split, cache):
    path = os.path.join(cache, split + ".json")
    if os.path.exists(path):
        return json.load(open(path))
    rows = [json.loads(line) for line in open(f"testdata/spam-assassin/{split}.jsonl", encoding="utf-8")]
    vectors = []
    for s in range(0, len(rows), CHUNK):
        args = ["./lora4j", "embed", "--model", model, "--max-length", "128", "--json"]
        for r in rows[s:s + CHUNK]:
            args += ["--text", r["text"]]
        vectors += json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)["embeddings"]
    out = {"labels": [r["label"] for r in rows], "embeddings": vectors}
    os.makedirs(cache, exist_ok=True)
    json.dump(out, open(path, "w"))
    return out


def fit(x, y, lam, iters=3000, lr=0.5):
    """L2-regularised logistic regression by full-batch gradient descent from zero (deterministic)."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(iters):
        g = 1 / (1 + np.exp(-(x @ w + b))) - y
        w -= lr * (x.T @ g / len(y) + lam * w)
        b -= lr * g.mean()
    return w, b


def scores(x, y, w, b):
    p = ((x @ w + b) > 0).astype(int)
    f1 = []
    for c in (0, 1):
        tp, fp, fn = ((p == c) & (y == c)).sum(), ((p == c) & (y != c)).sum(), ((p != c) & (y == c)).sum()
        f1.append(2 * tp / (2 * tp + fp + fn))
    return (p == y).mean(), float(np.mean(f1))


def main(model, cache):
    data = {}
    for split in ("train", "valid", "test"):
        d = embed(model, split, cache)
        data[split] = (np.array(d["embeddings"]), np.array([1 if l == "spam" else 0 for l in d["labels"]]))
    mu, sd = data["train"][0].mean(0), data["train"][0].std(0) + 1e-8
    std = {k: ((x - mu) / sd, y) for k, (x, y) in data.items()}
    best = None
    for lam in (1e-4, 1e-3, 1e-2, 1e-1):
        w, b = fit(*std["train"], lam)
        va, te = scores(*std["valid"], w, b), scores(*std["test"], w, b)
        print(f"L2 {lam:g}: valid accuracy {va[0]:.4f} macro-F1 {va[1]:.4f} | test accuracy {te[0]:.4f} macro-F1 {te[1]:.4f}")
        if best is None or va[0] > best[0]:
            best = (va[0], lam, te)
    print(f"picked on valid: L2 {best[1]:g}, test accuracy {best[2][0]:.4f}, macro-F1 {best[2][1]:.4f}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "/tmp/spam-assassin-embeddings")
