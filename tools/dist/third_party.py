#!/usr/bin/env python3
"""Writes lora4j-dist/src/main/dist/licenses/THIRD-PARTY.md: every runtime jar of the CLI with the licence its POM
(or a parent POM) declares, read from the local Maven repository. Run after a dependency change:

    . bin/jdk.sh && mvn -q -pl lora4j-cli -am dependency:list -DincludeScope=runtime -DoutputFile=/tmp/deps-list.txt
    python3 tools/dist/third_party.py /tmp/deps-list.txt
"""
import os, re, sys
import xml.etree.ElementTree as ET

M2 = os.path.expanduser("~/.m2/repository")


def pom(g, a, v):
    return f"{M2}/{g.replace('.', '/')}/{a}/{v}/{a}-{v}.pom"


def licence(g, a, v):
    path, seen = pom(g, a, v), set()
    while os.path.exists(path) and path not in seen:
        seen.add(path)
        text = re.sub(r'xmlns="[^"]+"', "", open(path, encoding="utf-8", errors="replace").read(), count=1)
        root = ET.fromstring(text)
        names = [(l.findtext("name") or "").strip() for l in root.findall("./licenses/license")]
        if any(names):
            return ", ".join(n for n in names if n)
        parent = root.find("parent")
        if parent is None:
            break
        path = pom(parent.findtext("groupId"), parent.findtext("artifactId"), parent.findtext("version"))
    return "not declared in its POM"


def main(listing):
    deps = sorted(l.strip().split(":")[:4] for l in open(listing) if l.strip().count(":") >= 4)
    out = ["# Third-party software in lib/", "",
           "Every jar in `lib/` besides lora4j's own, with the licence its Maven POM declares (each jar also carries its",
           "own licence files under `META-INF/`). lora4j itself is under the Apache License 2.0 (`LICENSE`).", "",
           "| group | artifact | version | licence |", "|---|---|---|---|"]
    out += [f"| {g} | {a} | {v} | {licence(g, a, v)} |" for g, a, _, v in deps if g != "dev.lora4j"]
    target = os.path.join(os.path.dirname(__file__), "../../lora4j-dist/src/main/dist/licenses/THIRD-PARTY.md")
    open(target, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
