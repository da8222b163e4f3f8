#!/usr/bin/python3
"""Generate the PiSSA golden fixtures under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (no peft, no transformers):

    /usr/bin/python3 tools/golden/pissa_golden.py

PiSSA (Meng et al. 2024, arXiv 2404.02948) is written out by hand with PEFT's exact operations
(peft/tuners/lora/layer.py LoraLayer.pissa_init, init_lora_weights="pissa"):

    W = transpose(weight.float(), fan_in_fan_out)               # (out, in)
    V, S, Uh = torch.linalg.svd(W, full_matrices=False)
    Sr = S[:r] / s;  lora_A = diag(sqrt(Sr)) @ Uh[:r];  lora_B = V[:, :r] @ diag(sqrt(Sr))
    W <- W - s * lora_B @ lora_A                                 # the base becomes the residual

and PEFT's conversion on save (save_pretrained(path_initial_model_for_weight_conversion=...):
LoraModel.subtract_mutated_init and PeftModel.save_pretrained's config edits):

    lora_A' = cat([A, A0], dim=0)  (2r, in);  lora_B' = cat([B, -B0], dim=1)  (out, 2r)
    r' = 2r; lora_alpha' = 2 alpha (sqrt(2) alpha with use_rslora); init_lora_weights = true

The signs of singular vectors are arbitrary (torch's LAPACK and lora4j's Jacobi may pick others), so the
fixtures hold sign-invariant quantities only: the residual weights, s * B0 @ A0, the top-r singular values,
the logits after injection (the base's own, up to float rounding), ten AdamW losses (flipping a singular pair's
sign in both A and B flips its gradients and Adam's update alike, so the trajectory of B @ A is unchanged), the
trained logits, and the converted adapter's delta s' * B' @ A', which applied to the ORIGINAL base gives them.

testdata/gpt2-golden-pissa/   PiSSA on GPT-2's c_attn and both c_proj (Conv1D, fan_in_fan_out), r=4, lora_alpha=8
testdata/qwen2-golden-pissa/  PiSSA on Qwen2's q_proj, v_proj (with biases) and o_proj, r=2, lora_alpha=4, use_rslora
each with
    adapter_config.json        the run's config as PEFT saves it WITHOUT conversion (init_lora_weights "pissa")
    adapter_model.safetensors  the trained lora_A/lora_B as PEFT saves them without conversion (for the refusal test)
    converted_config.json      the converted adapter's config, as PEFT writes it with the conversion
    golden.safetensors         residual.<base key>, init_delta.<module>, logits, trained_logits, converted_delta.<module>
    golden.json                singular values, loss, AdamW hyper-parameters and losses

Self-checks: the base's committed logits are reproduced; logits after injection equal the base's; the converted
adapter on the original base reproduces the trained logits; every written safetensors file is re-read.
"""
import json, math, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402  (GPT-2 forward, safetensors writer/reader, JSON writer)
import llama_golden as L  # noqa: E402  (Qwen2 forward)
import dora_golden as D  # noqa: E402  (base_forward, out_in, peft_path, adapter_config)

CASES = [  # name, base, family, modules (checkpoint names without .weight), r, alpha, use_rslora
    ("gpt2-golden-pissa", "gpt2-golden", "gpt2",
     [f"h.{i}.{m}" for i in range(2) for m in ("attn.c_attn", "attn.c_proj", "mlp.c_proj")], 4, 8, False),
    ("qwen2-golden-pissa", "qwen2-golden", "qwen2",
     [f"model.layers.{i}.self_attn.{m}" for i in range(2) for m in ("q_proj", "v_proj", "o_proj")], 2, 4, True),
]


def pissa_init(w_out_in, r, s):
    """LoraLayer.pissa_init for "pissa": (A0, B0, residual as (out, in), the top-r singular values)."""
    V, S, Uh = torch.linalg.svd(w_out_in, full_matrices=False)
    Sr = S[:r] / s
    A = torch.diag(torch.sqrt(Sr)) @ Uh[:r]
    B = V[:, :r] @ torch.diag(torch.sqrt(Sr))
    return A, B, w_out_in - s * B @ A, S[:r]


def forward(family, p, cfg, ids, labels, ad, s):
    """The forward of p with plain LoRA, result + s * lora_B(lora_A(x)), on the modules of `ad` ({module: (A, B)})."""
    if family == "gpt2":
        by_weight = {id(p[k + ".weight"]): k for k in ad}
        orig = g.conv1d

        def conv1d(x, w, b):
            y = orig(x, w, b)
            k = by_weight.get(id(w))
            return y if k is None else y + s * (x @ ad[k][0].T) @ ad[k][1].T

        g.conv1d = conv1d
        try:
            return g.forward(p, cfg, ids, labels)
        finally:
            g.conv1d = orig
    orig = L.linear

    def linear(p_, x, name):
        y = orig(p_, x, name)
        return y if name not in ad else y + s * (x @ ad[name][0].T) @ ad[name][1].T

    L.linear = linear
    try:
        return L.forward(p, cfg, ids, labels)
    finally:
        L.linear = orig


def make_case(name, base, family, modules, r, alpha, rslora):
    d = os.path.join(g.TESTDATA, name)
    os.makedirs(d, exist_ok=True)
    bdir = os.path.join(g.TESTDATA, base)
    with open(os.path.join(bdir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    with open(os.path.join(bdir, "golden.json"), encoding="utf-8") as f:
        batch = json.load(f)
    p0 = g.read_safetensors(os.path.join(bdir, "model.safetensors"))
    ids, labels = torch.tensor(batch["input_ids"]), torch.tensor(batch["labels"])
    base_logits, base_loss = D.base_forward(family, p0, cfg, ids, labels)
    committed = g.read_safetensors(os.path.join(bdir, "golden.safetensors"))["logits"]
    assert (base_logits - committed).abs().max().item() <= 1e-5 * committed.abs().max().item(), base + " logits not reproduced"
    s = alpha / math.sqrt(r) if rslora else alpha / r
    key = lambda k: "base_model.model." + D.peft_path(family, k)
    print(f"{name}: {len(modules)} PiSSA modules, r={r}, lora_alpha={alpha}, rslora={rslora}, scaling={s!r}")

    res, ad0, svals = dict(p0), {}, {}
    for k in modules:
        A, B, w_res, S = pissa_init(D.out_in(family, p0[k + ".weight"]).float(), r, s)
        res[k + ".weight"] = w_res.T.contiguous() if family == "gpt2" else w_res
        ad0[k], svals[key(k)] = (A, B), S.tolist()
    logits, loss = forward(family, res, cfg, ids, labels, ad0, s)
    diff = (logits - base_logits).abs().max().item()
    print(f"  logits after injection vs the base's: max abs diff = {diff:.3e}; loss {loss.item():.8f} (base {base_loss.item():.8f})")
    assert diff <= 1e-4 * base_logits.abs().max().item()

    # AdamW on (A, B) over the residual base, same batch each step, loss recorded before each update
    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "steps": 10}
    train = {k: tuple(t.clone().requires_grad_(True) for t in v) for k, v in ad0.items()}
    opt = torch.optim.AdamW([t for v in train.values() for t in v], lr=hp["lr"], betas=tuple(hp["betas"]),
                            eps=hp["eps"], weight_decay=hp["weight_decay"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        step_loss = forward(family, res, cfg, ids, labels, train, s)[1]
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    print("  adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    trained = {k: tuple(t.detach() for t in v) for k, v in train.items()}
    trained_logits = forward(family, res, cfg, ids, None, trained, s)[0]

    # the conversion: rank 2r on the original base
    r2, alpha2 = 2 * r, alpha * (math.sqrt(2) if rslora else 2)
    s2 = alpha2 / math.sqrt(r2) if rslora else alpha2 / r2
    conv = {k: (torch.cat([trained[k][0], ad0[k][0]], dim=0), torch.cat([trained[k][1], -ad0[k][1]], dim=1)) for k in modules}
    conv_logits = forward(family, p0, cfg, ids, None, conv, s2)[0]
    diff = (conv_logits - trained_logits).abs().max().item()
    print(f"  scaling after conversion {s2!r}; converted on the original base vs trained on the residual: max abs diff = {diff:.3e}")
    assert diff <= 1e-4 * trained_logits.abs().max().item()

    out = {"logits": logits.detach(), "trained_logits": trained_logits}
    for k in modules:
        out["residual." + k + ".weight"] = res[k + ".weight"]
        out["init_delta." + key(k)] = s * ad0[k][1] @ ad0[k][0]
        out["converted_delta." + key(k)] = s2 * conv[k][1] @ conv[k][0]
    adapter = {key(k) + part: t for k, v in trained.items() for part, t in zip((".lora_A.weight", ".lora_B.weight"), v)}
    config = json.loads(D.adapter_config(base, family, modules, r, alpha, rslora))
    config.update({"init_lora_weights": "pissa", "use_dora": False})
    converted = {**config, "init_lora_weights": True, "r": r2, "lora_alpha": alpha2}
    for fname, c in (("adapter_config.json", config), ("converted_config.json", converted)):
        with open(os.path.join(d, fname), "w", encoding="utf-8") as f:
            f.write(json.dumps(c, indent=2, sort_keys=True))
    for fname, tensors in (("adapter_model.safetensors", adapter), ("golden.safetensors", out)):
        g.write_safetensors(os.path.join(d, fname), tensors)
        back = g.read_safetensors(os.path.join(d, fname))
        assert sorted(back) == sorted(tensors) and all(torch.equal(back[k], v) for k, v in tensors.items())
    g.write_json(os.path.join(d, "golden.json"), {
        "base": "testdata/" + base, "batch": f"input_ids/labels of testdata/{base}/golden.json",
        "r": r, "lora_alpha": alpha, "use_rslora": rslora, "scaling": s, "converted_scaling": s2,
        "lora_modules": [key(k) for k in modules], "singular_values": svals, "loss": loss.item(),
        "adamw": {**hp, "losses": losses},
        "generated_by": "tools/golden/pissa_golden.py", "torch_version": torch.__version__})
    for f in sorted(os.listdir(d)):
        print(f"  {name}/{f}: {os.path.getsize(os.path.join(d, f)):,} bytes")


def main():
    torch.set_num_threads(1)  # bitwise-reproducible float32 reductions
    for case in CASES:
        make_case(*case)


if __name__ == "__main__":
    main()
