#!/usr/bin/env python3
"""First reading for the performance work: `lora4j eval` vs PyTorch's forward on a GPT-2-small shape.

Builds a random-weight GPT-2 (12 layers, d=768, 12 heads, vocab 50257, 1024 positions) in the real HF
layout with tools/golden's writer, and a data file of 513 random token ids (one window of 512 scored
tokens). Checks that both sides compute the same loss, then times:
  - PyTorch: the forward + loss of that window (no_grad), median of --repeats runs, after one warm-up;
  - lora4j:  `./lora4j eval --seq-len 512 --json` end to end (JVM start, load, forward) and, from the
             plain-text run, the evaluation time alone.
Prints one JSON object. Run from the repository root with Debian's PyTorch:
    /usr/bin/python3 tools/bench/gpt2_eval_bench.py [--dir /tmp/gpt2-small-random] [--threads 2]
"""
import argparse, json, os, re, statistics, subprocess, sys, time
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
import gpt2_golden as g  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/gpt2-small-random")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = g.gpt2_config(50257, 1024, 768, 12, 12, bos_eos=50256)
    params = g.init_params(cfg, seed=7)
    if not os.path.exists(os.path.join(a.dir, "model.safetensors")):
        os.makedirs(a.dir, exist_ok=True)
        g.save_model(a.dir, cfg, params)
    gen = torch.Generator().manual_seed(11)
    ids = torch.randint(0, 50257, (1, 513), generator=gen)
    data = os.path.join(a.dir, "ids-513.jsonl")
    with open(data, "w") as f:
        f.write(json.dumps({"input_ids": ids[0].tolist()}) + "\n")

    x, y = ids[:, :512], ids[:, 1:]
    times = []
    with torch.no_grad():
        for i in range(a.repeats + 1):
            t0 = time.perf_counter()
            logits, _ = g.forward(params, cfg, x)
            loss = torch.nn.functional.cross_entropy(logits.view(-1, 50257), y.reshape(-1))
            if i > 0:
                times.append(time.perf_counter() - t0)
    torch_loss = loss.item()

    cmd = ["./lora4j", "eval", "--model", a.dir, "--data", data, "--seq-len", "512"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd + ["--json"], check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    java = json.loads(out)
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    java_eval_s = float(re.search(r"\(([\d.]+) s,", text).group(1))
    print(json.dumps({
        "shape": "gpt2 12x768, vocab 50257, 512 tokens, batch 1", "threads": a.threads,
        "torch_version": torch.__version__, "torch_loss": torch_loss, "lora4j_loss": java["loss"],
        "loss_rel_diff": abs(java["loss"] - torch_loss) / torch_loss,
        "torch_forward_s_median": statistics.median(times), "torch_forward_s_all": times,
        "lora4j_eval_s": java_eval_s, "lora4j_command_wall_s": wall,
        "ratio_eval_over_torch": java_eval_s / statistics.median(times)}))


if __name__ == "__main__":
    main()
