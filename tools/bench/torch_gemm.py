#!/usr/bin/env python3
"""torch.mm GFLOP/s (OpenBLAS through Debian's PyTorch) at the shapes of `lora4j bench gemm`, one JSON
line per shape, median of --repeats timed runs (~50 ms of calls each) after a 1-s warm-up. Run: /usr/bin/python3 tools/bench/torch_gemm.py
[--shapes abt:2048:384:384,ab:2048:384:1536] (FORM:M:N:K, as `lora4j bench gemm --shapes`)"""
import argparse, json, os, statistics, time
import torch

SHAPES = [("abt", 512, 2304, 768), ("abt", 512, 3072, 768), ("abt", 512, 768, 3072),
          ("ab", 512, 768, 2304), ("ab", 512, 3072, 768),
          ("atb", 768, 3072, 512), ("atb", 3072, 768, 512),
          ("abt", 512, 8, 768), ("abt", 512, 2304, 8), ("atb", 8, 768, 512),
          ("abt", 512, 50257, 768), ("ab", 512, 768, 50257)]

ap = argparse.ArgumentParser()
ap.add_argument("--repeats", type=int, default=7)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--shapes", help="FORM:M:N:K,... instead of GPT-2 small's shapes")
a = ap.parse_args()
if a.shapes:
    SHAPES = [(f, int(m), int(n), int(k)) for f, m, n, k in (s.split(":") for s in a.shapes.split(","))]
torch.set_num_threads(a.threads)
g = torch.Generator().manual_seed(5)
for form, m, n, k in SHAPES:
    if form == "abt":
        x, w = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g)
        f = lambda: torch.mm(x, w.t())
    elif form == "ab":
        x, w = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
        f = lambda: torch.mm(x, w)
    else:
        x, w = torch.randn(k, m, generator=g), torch.randn(k, n, generator=g)
        f = lambda: torch.mm(x.t(), w)
    calls, t0 = 0, time.perf_counter()      # warm-up: one second, as lora4j bench gemm does
    while time.perf_counter() - t0 < 1.0:
        f()
        calls += 1
    per_run = max(1, calls // 20)           # a timed run is ~50 ms of calls, the per-call time its mean
    times = []
    for r in range(a.repeats):
        t0 = time.perf_counter()
        for i in range(per_run):
            f()
        times.append((time.perf_counter() - t0) / per_run)
    med = statistics.median(times)
    print(json.dumps({"impl": "torch-" + torch.__version__, "form": form, "m": m, "n": n, "k": k,
                      "threads": torch.get_num_threads(), "seconds_median": med,
                      "gflops": round(2.0 * m * n * k / med / 1e9, 1)}))
