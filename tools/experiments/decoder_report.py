"""Writes OUT/report.md and OUT/report.json from the runs of decoder_sotu_moby_dick.sh (standard library only)."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])


def summary(run):
    lines = [json.loads(l) for l in (out / run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    s = [l for l in lines if "train_runtime_s" in l][-1]
    evals = [l for l in lines if "eval_loss" in l]
    return s, evals


def ev(name):
    return json.loads((out / f"eval-{name}.json").read_text())


pre, pre_evals = summary("gpt2-sotu")
rows = []
for name, run, label in [("base", None, "SOTU-pretrained base, no adaptation"),
                         ("lora", "lora", "LoRA r=8, all linear layers"),
                         ("full", "full", "full fine-tuning")]:
    e = ev(name)
    s = summary(run)[0] if run else None
    rows.append({"model": label, "heldout_loss": e["loss"], "heldout_perplexity": e["perplexity"], "tokens": e["tokens"],
                 "trainable_params": s["trainable_params"] if s else 0, "total_params": s["total_params"] if s else pre["total_params"],
                 "peak_rss_mb": s.get("peak_rss_mb") if s else None, "train_runtime_s": s["train_runtime_s"] if s else None})
sotu = ev("base-sotu")
report = {"pretraining": {"steps": pre_evals[-1]["step"], "train_runtime_s": pre["train_runtime_s"], "peak_rss_mb": pre.get("peak_rss_mb"),
                          "params": pre["total_params"], "heldout_sotu_loss": sotu["loss"], "heldout_sotu_perplexity": sotu["perplexity"],
                          "evals": pre_evals},
          "adaptation": rows}
(out / "report.json").write_text(json.dumps(report, indent=2) + "\n")

md = ["# Decoders: a GPT-2 pretrained by lora4j on State of the Union, adapted to Moby-Dick", "",
      f"Pretraining (`train --full` from `lora4j init`): {pre['total_params']:,} parameters, {report['pretraining']['steps']} steps of "
      f"16 × 128 tokens in {pre['train_runtime_s'] / 60:.1f} min, peak memory {pre.get('peak_rss_mb', float('nan')):,.0f} MB; "
      f"held-out SOTU (2017–2021) loss {sotu['loss']:.4f}, perplexity {sotu['perplexity']:,.1f}.", "",
      "Adaptation to Moby-Dick (chapters 1–40; held out: chapters 41–45, "
      f"{rows[0]['tokens']:,} tokens scored):", "",
      "| model | held-out loss | perplexity | trainable parameters | peak memory (RSS) | training time |",
      "|---|---:|---:|---:|---:|---:|"]
for r in rows:
    pct = 100.0 * r["trainable_params"] / r["total_params"]
    mem = f"{r['peak_rss_mb']:,.0f} MB" if r["peak_rss_mb"] else "—"
    t = f"{r['train_runtime_s']:.0f} s" if r["train_runtime_s"] is not None else "—"
    md.append(f"| {r['model']} | {r['heldout_loss']:.4f} | {r['heldout_perplexity']:,.1f} | {r['trainable_params']:,} ({pct:.2f} %) | {mem} | {t} |")
md += ["", "Reproduce with `tools/experiments/decoder_sotu_moby_dick.sh` (npm data; PRETRAIN_STEPS and ADAPT_STEPS override the step counts)."]
(out / "report.md").write_text("\n".join(md) + "\n")
print("\n".join(md))
