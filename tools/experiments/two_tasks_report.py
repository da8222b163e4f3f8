"""The combined table of two_tasks_two_encoders.sh (standard library only): for each task and encoder, the run each
configuration chose on the validation split (the one with test metrics in its result.json), then LoRA r=8 and DoRA r=8
against full fine-tuning. Configurations not finished yet are listed as pending.

    python3 tools/experiments/two_tasks_report.py OUT        # OUT as given to two_tasks_two_encoders.sh
"""
import json
import sys
from pathlib import Path

TASKS = (("sentiment", "Sentiment sentences"), ("spam", "SpamAssassin"))
ENCODERS = (("minilm", "all-MiniLM-L6-v2"), ("bge", "bge-small-en-v1.5"))
CONFIGS = (("head-only", "frozen encoder + head"), ("lora-r8", "LoRA r=8"), ("dora-r8", "DoRA r=8"), ("full", "full fine-tuning"))


def chosen(out, task, enc):
    runs = {}
    for f in sorted((out / f"{task}-{enc}" / "runs").glob("*/result.json")):
        r = json.loads(f.read_text())
        runs.setdefault(r["group"], []).append(r)
    return {g: next((r for r in rs if "accuracy" in r), None) for g, rs in runs.items()}, runs


def main(out):
    print("| task | encoder | configuration | lr | epochs | validation accuracy | test accuracy | test macro-F1 | trainable | vs full (points) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for task, task_name in TASKS:
        for enc, enc_name in ENCODERS:
            best, runs = chosen(out, task, enc)
            full = best.get("full")
            for group, name in CONFIGS:
                r = best.get(group)
                if r is None:
                    n = len(runs.get(group, []))
                    print(f"| {task_name} | {enc_name} | {name} | | | | pending ({n} run{'' if n == 1 else 's'} done) | | | |")
                    continue
                gap = "" if full is None or group == "full" else f"{100 * (r['accuracy'] - full['accuracy']):+.2f}"
                print(f"| {task_name} | {enc_name} | {name} | {r['lr']} | {r['epochs']} | {r['valid_accuracy']:.4f} | {r['accuracy']:.4f} | "
                      f"{r['macro_f1']:.4f} | {r['trainable_params']:,} ({100 * r['trainable_params'] / r['total_params']:.2f} %) | {gap} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
