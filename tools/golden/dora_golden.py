#!/usr/bin/python3
"""Generate the DoRA adapter golden fixtures under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (no peft, no transformers):

    /usr/bin/python3 tools/golden/dora_golden.py

DoRA (Liu et al. 2024, arXiv 2402.09353) is written out by hand with PEFT's exact operations
(peft/tuners/lora/dora.py DoraLinearLayer, variants.py DoraLinearVariant), for a model in eval mode
without dropout:

    lora_weight = lora_B(lora_A(eye(in))).T                      # B @ A, (out, in)
    weight_norm = ||transpose(W, fan_in_fan_out) + s * lora_weight.detach()||  (dim=1: per output row)
    weight_norm = weight_norm.detach()                           # a constant in the backward (paper §4.3)
    mns = (m / weight_norm).view(1, -1)
    result = base(x) + (mns - 1) * (base(x) - bias) + mns * lora_B(lora_A(x)) * s
    merge:  W <- transpose(m / ||W + s*B@A||, fan_in_fan_out) * (W + transpose(s * B @ A, fan_in_fan_out))

It reads the committed base models (testdata/gpt2-golden, testdata/qwen2-golden) and writes, deterministically:

testdata/gpt2-golden-dora/   DoRA on GPT-2's c_attn and both c_proj (Conv1D, fan_in_fan_out), r=4, lora_alpha=8
testdata/qwen2-golden-dora/  DoRA on Qwen2's q_proj, v_proj (with biases) and o_proj (without), r=2,
                             lora_alpha=4, use_rslora (scaling 4/sqrt(2))
each with
    adapter_config.json        as PEFT's save_pretrained writes it (use_dora true)
    adapter_model.safetensors  base_model.model.<module>.lora_A.weight, .lora_B.weight and
                               .lora_magnitude_vector (shape [out], no ".weight": PEFT's saved key)
    golden.safetensors         logits, merged_logits, grad.<adapter key>, merged.<base key>
    golden.json                loss and 10 AdamW steps on the adapter (A, B and the magnitude)

B is not zero and the magnitude is the norm times (1 + 0.1 N(0, 1)), so that every gradient is non-trivial
and the magnitude's factor is not 1. Self-checks: the base's committed logits are reproduced (to float rounding: the BLAS of the machine that made
them may sum in another order); a magnitude equal to the norm gives plain LoRA's logits;
merged vs unmerged logits agree to float rounding; three gradient entries (an A, a B, a magnitude) are
compared with float64 central finite differences taken with the norm held at its value (the detached norm);
every written safetensors file is re-read.
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402  (GPT-2 forward, safetensors writer/reader, JSON writer)
import llama_golden as L  # noqa: E402  (Qwen2 forward)

CASES = [  # name, base, family, modules (checkpoint names without .weight), r, alpha, use_rslora, seed
    ("gpt2-golden-dora", "gpt2-golden", "gpt2",
     [f"h.{i}.{m}" for i in range(2) for m in ("attn.c_attn", "attn.c_proj", "mlp.c_proj")], 4, 8, False, 77),
    ("qwen2-golden-dora", "qwen2-golden", "qwen2",
     [f"model.layers.{i}.self_attn.{m}" for i in range(2) for m in ("q_proj", "v_proj", "o_proj")], 2, 4, True, 78),
]


# ----------------------------------------------------------------------------- DoRA
def weight_norm(w_out_in, A, B, s):
    """DoraLinearLayer.get_weight_norm with get_lora_weight: the norm of each output row of W + s * B @ A."""
    eye = torch.eye(A.shape[1], dtype=A.dtype)
    lora_weight = F.linear(F.linear(eye, A), B).T
    return torch.linalg.norm(w_out_in + s * lora_weight.detach(), dim=1).to(w_out_in.dtype).detach()


def dora(result, x, w_out_in, bias, A, B, m, s, norm=None):
    """DoraLinearVariant.forward, eval: result + (mns - 1) * (result - bias) + mns * lora_B(lora_A(x)) * s."""
    norm = weight_norm(w_out_in, A, B, s) if norm is None else norm
    mns = (m / norm).view(1, -1)
    lora_result = F.linear(F.linear(x, A), B)
    base_result = result - bias if bias is not None else result
    return result + ((mns - 1) * base_result + mns * lora_result * s)


def forward(family, p, cfg, ids, labels, ad, s, norms=None):
    """The base forward with DoRA on the modules of `ad` ({module: (A, B, m)}); `norms` holds the norms fixed."""
    if family == "gpt2":
        by_weight = {id(p[k + ".weight"]): k for k in ad}
        orig = g.conv1d

        def conv1d(x, w, b):  # HF Conv1D, weight [in, out]
            y = orig(x, w, b)
            k = by_weight.get(id(w))
            return y if k is None else dora(y, x, w.T, b, *ad[k], s, None if norms is None else norms[k])

        g.conv1d = conv1d
        try:
            return g.forward(p, cfg, ids, labels)
        finally:
            g.conv1d = orig
    orig = L.linear

    def linear(p_, x, name):
        y = orig(p_, x, name)
        if name not in ad:
            return y
        return dora(y, x, p_[name + ".weight"], p_.get(name + ".bias"), *ad[name], s, None if norms is None else norms[name])

    L.linear = linear
    try:
        return L.forward(p, cfg, ids, labels)
    finally:
        L.linear = orig


def base_forward(family, p, cfg, ids, labels=None):
    return g.forward(p, cfg, ids, labels) if family == "gpt2" else L.forward(p, cfg, ids, labels)


def out_in(family, w):
    return w.T if family == "gpt2" else w


def merge(family, p, ad, s):
    """DoraLinearVariant.merge_safe: W <- dora_factor * (W + delta_weight), in the checkpoint's layout."""
    merged = {}
    for k, (A, B, m) in ad.items():
        w = p[k + ".weight"]
        delta = (B @ A) * s                                              # get_delta_weight before the transpose
        factor = (m / weight_norm(out_in(family, w), A, B, s)).view(-1, 1)   # (out, 1)
        if family == "gpt2":
            merged[k + ".weight"] = factor.T * (w + delta.T)
        else:
            merged[k + ".weight"] = factor * (w + delta)
    return merged


def init_adapter(family, p, modules, r, s, seed):
    """A ~ U(+-1/sqrt(in)), B ~ N(0, 0.05), m = ||W + s*B@A|| * (1 + 0.1 N(0, 1))."""
    torch.manual_seed(seed)
    ad = {}
    for k in modules:
        w = out_in(family, p[k + ".weight"])
        n_out, n_in = w.shape
        A = torch.empty(r, n_in).uniform_(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in))
        B = torch.randn(n_out, r) * 0.05
        m = weight_norm(w, A, B, s) * (1 + 0.1 * torch.randn(n_out))
        ad[k] = (A, B, m)
    return ad


def peft_path(family, k):
    return ("transformer." + k) if family == "gpt2" else k


def adapter_config(base, family, modules, r, alpha, rslora):
    targets = sorted({k.split(".")[-1] for k in modules})
    cfg = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "testdata/" + base,
           "bias": "none", "corda_config": None, "eva_config": None, "exclude_modules": None,
           "fan_in_fan_out": family == "gpt2", "inference_mode": True, "init_lora_weights": True,
           "layer_replication": None, "layers_pattern": None, "layers_to_transform": None,
           "loftq_config": {}, "lora_alpha": alpha, "lora_bias": False, "lora_dropout": 0.0,
           "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
           "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None,
           "target_modules": targets, "task_type": "CAUSAL_LM", "trainable_token_indices": None,
           "use_dora": True, "use_qalora": False, "use_rslora": rslora}
    return json.dumps(cfg, indent=2, sort_keys=True)  # PEFT: no trailing newline


# ----------------------------------------------------------------------------- fixtures
def make_case(name, base, family, modules, r, alpha, rslora, seed):
    d = os.path.join(g.TESTDATA, name)
    os.makedirs(d, exist_ok=True)
    bdir = os.path.join(g.TESTDATA, base)
    with open(os.path.join(bdir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    with open(os.path.join(bdir, "golden.json"), encoding="utf-8") as f:
        batch = json.load(f)
    p0 = g.read_safetensors(os.path.join(bdir, "model.safetensors"))
    ids, labels = torch.tensor(batch["input_ids"]), torch.tensor(batch["labels"])
    base_logits = g.read_safetensors(os.path.join(bdir, "golden.safetensors"))["logits"]
    base_diff = (base_forward(family, p0, cfg, ids)[0] - base_logits).abs().max().item()
    print(f"{base}: this machine's base logits vs the committed ones: max abs diff = {base_diff:.3e}")
    assert base_diff <= 1e-5 * base_logits.abs().max().item(), base + " logits not reproduced"
    s = alpha / math.sqrt(r) if rslora else alpha / r
    ad0 = init_adapter(family, p0, modules, r, s, seed)
    key = lambda k, part: "base_model.model." + peft_path(family, k) + part
    parts = (".lora_A.weight", ".lora_B.weight", ".lora_magnitude_vector")
    print(f"{name}: {len(ad0)} DoRA modules, r={r}, lora_alpha={alpha}, rslora={rslora}, scaling={s!r}")

    # a magnitude equal to the norm is plain LoRA: result + B(A(x)) * s
    plain = {k: (A, B, weight_norm(out_in(family, p0[k + ".weight"]), A, B, s)) for k, (A, B, m) in ad0.items()}
    lora_logits = forward(family, p0, cfg, ids, None, plain, s)[0]
    merged_lora = {k + ".weight": p0[k + ".weight"] + ((B @ A) * s).T if family == "gpt2" else p0[k + ".weight"] + (B @ A) * s
                   for k, (A, B, m) in ad0.items()}
    lora_diff = (lora_logits - base_forward(family, {**p0, **merged_lora}, cfg, ids)[0]).abs().max().item()
    print(f"  m = norm: DoRA vs plain LoRA (merged) logits, max abs diff = {lora_diff:.3e}")
    assert lora_diff <= 1e-4 * lora_logits.abs().max().item()

    ad = {k: tuple(t.clone().requires_grad_(True) for t in v) for k, v in ad0.items()}
    logits, loss = forward(family, p0, cfg, ids, labels, ad, s)
    loss.backward()
    logits = logits.detach()
    merged = merge(family, p0, ad0, s)
    merged_logits, merged_loss = base_forward(family, {**p0, **merged}, cfg, ids, labels)
    diff = (merged_logits - logits).abs().max().item()
    print(f"  loss = {loss.item():.8f} (base {base_forward(family, p0, cfg, ids, labels)[1].item():.8f}, "
          f"merged {merged_loss.item():.8f}); merged vs unmerged logits: max abs diff = {diff:.3e}")
    assert diff <= 1e-4 * logits.abs().max().item()

    adapter = {key(k, part): t for k, v in ad0.items() for part, t in zip(parts, v)}
    grads = {key(k, part): t.grad for k, v in ad.items() for part, t in zip(parts, v)}
    assert all(v.abs().max() > 0 for v in grads.values()), "a zero gradient"
    out = {"logits": logits, "merged_logits": merged_logits,
           **{"grad." + k: v for k, v in grads.items()}, **{"merged." + k: v for k, v in merged.items()}}
    with open(os.path.join(d, "adapter_config.json"), "w", encoding="utf-8") as f:
        f.write(adapter_config(base, family, modules, r, alpha, rslora))
    for fname, tensors in (("adapter_model.safetensors", adapter), ("golden.safetensors", out)):
        g.write_safetensors(os.path.join(d, fname), tensors)
        back = g.read_safetensors(os.path.join(d, fname))
        assert sorted(back) == sorted(tensors) and all(torch.equal(back[k], v) for k, v in tensors.items())

    # float64 central finite differences with the norm held fixed (the detached norm), on an A, a B and an m entry
    gen = torch.Generator().manual_seed(seed)
    p64 = {k: v.double() for k, v in p0.items()}
    ad64 = {k: tuple(t.double() for t in v) for k, v in ad0.items()}
    norms = {k: weight_norm(out_in(family, p64[k + ".weight"]), A, B, s) for k, (A, B, m) in ad64.items()}
    t64 = {key(k, part): t for k, v in ad64.items() for part, t in zip(parts, v)}
    for part in parts:
        ks = sorted(k for k in t64 if k.endswith(part))
        k = ks[torch.randint(0, len(ks), (1,), generator=gen).item()]
        t, h = t64[k].view(-1), 1e-6
        j = torch.randint(0, t.numel(), (1,), generator=gen).item()
        orig = t[j].item()
        t[j] = orig + h; lp = forward(family, p64, cfg, ids, labels, ad64, s, norms)[1].item()
        t[j] = orig - h; lm = forward(family, p64, cfg, ids, labels, ad64, s, norms)[1].item()
        t[j] = orig
        fd, an = (lp - lm) / (2 * h), grads[k].view(-1)[j].item()
        print(f"  fd check {k[len('base_model.model.'):]}[{j}]: fd64 = {fd:.6e}, autograd32 = {an:.6e}, "
              f"rel err = {abs(fd - an) / max(abs(fd), 1e-12):.2e}")

    # AdamW on the adapter (A, B, m), same batch each step, loss recorded before each update
    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "steps": 10}
    train = {k: tuple(t.clone().requires_grad_(True) for t in v) for k, v in ad0.items()}
    opt = torch.optim.AdamW([t for v in train.values() for t in v], lr=hp["lr"], betas=tuple(hp["betas"]),
                            eps=hp["eps"], weight_decay=hp["weight_decay"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        step_loss = forward(family, p0, cfg, ids, labels, train, s)[1]
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    assert losses[0] == loss.item()
    print("  adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    g.write_json(os.path.join(d, "golden.json"), {
        "base": "testdata/" + base, "batch": f"input_ids/labels of testdata/{base}/golden.json",
        "r": r, "lora_alpha": alpha, "use_rslora": rslora, "use_dora": True, "scaling": s,
        "lora_modules": ["base_model.model." + peft_path(family, k) for k in ad0], "loss": loss.item(),
        "merged_loss": merged_loss.item(), "adamw": {**hp, "losses": losses},
        "generated_by": "tools/golden/dora_golden.py", "torch_version": torch.__version__})
    for f in sorted(os.listdir(d)):
        print(f"  {name}/{f}: {os.path.getsize(os.path.join(d, f)):,} bytes")


def main():
    torch.set_num_threads(1)  # bitwise-reproducible float32 reductions
    for case in CASES:
        make_case(*case)


if __name__ == "__main__":
    main()
