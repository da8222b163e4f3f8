#!/usr/bin/python3
"""Generate the LoRA adapter golden fixtures under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (no peft, no transformers):

    /usr/bin/python3 tools/golden/lora_golden.py

It reads the committed base model testdata/gpt2-golden/ (config.json, model.safetensors,
and the input_ids/labels batch of golden.json) and writes, deterministically:

testdata/gpt2-golden-lora-c_attn/      LoRA on c_attn, r=4, lora_alpha=8 (scaling 2)
testdata/gpt2-golden-lora-all-linear/  LoRA on c_attn, attn.c_proj, c_fc, mlp.c_proj,
                                       r=2, lora_alpha=6, use_rslora (scaling 6/sqrt(2))
each with
    adapter_config.json        as PEFT's save_pretrained writes it (indent 2, sorted keys)
    adapter_model.safetensors  base_model.model.transformer.h.N.<module>.lora_{A,B}.weight
    golden.safetensors         logits (base + adapter, unmerged), merged_logits (adapter
                               merged into the base), grad.<adapter key>, merged.<base key>
    golden.json                HF loss and 10 AdamW steps on the adapter only

LoRA is PEFT's lora.Linear on GPT-2's Conv1D: y = x @ W + b + scaling * B(A(dropout(x))),
A [r, in], B [out, r]; merge: W[in, out] += (B @ A)^T * scaling. The base stays frozen.
B is NOT zero (unlike PEFT's default init) so that every gradient is non-trivial.
Self-checks: a zero-B adapter reproduces gpt2-golden's logits bit-exactly, merged vs
unmerged logits agree to float rounding, three adapter gradient entries are compared with
float64 central finite differences, and every written safetensors file is re-read.
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402  (GPT-2 forward, safetensors writer/reader, JSON writer)

BASE = os.path.join(g.TESTDATA, "gpt2-golden")
PREFIX = "base_model.model.transformer."  # PEFT's key prefix for GPT2LMHeadModel modules
CASES = [  # name, leaf module names (PEFT target_modules), r, lora_alpha, use_rslora, seed
    ("gpt2-golden-lora-c_attn", ["c_attn"], 4, 8, False, 99),
    ("gpt2-golden-lora-all-linear", ["c_attn", "c_fc", "c_proj"], 2, 6, True, 199),
]
MODULES = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]  # GPT-2 block Conv1Ds, in module order


# ----------------------------------------------------------------------------- model
def lora_forward(p, cfg, ids, labels, ad, scaling):
    """g.forward where each Conv1D in `ad` ({"h.0.attn.c_attn": (A, B)}) gets PEFT's LoRA path."""
    def proj(x, m):
        y = g.conv1d(x, p[m + ".weight"], p[m + ".bias"])
        if m in ad:
            A, B = ad[m]
            y = y + F.linear(F.linear(x, A), B) * scaling  # PEFT: result + lora_B(lora_A(x)) * scaling
        return y

    def attention(x, h):  # = g.attention with proj() for the two Conv1Ds
        B_, T, C = x.shape
        nh = cfg["n_head"]
        q, k, v = proj(x, h + "c_attn").split(C, dim=2)
        heads = lambda t: t.view(B_, T, nh, C // nh).permute(0, 2, 1, 3)
        q, k, v = heads(q), heads(k), heads(v)
        s = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=x.dtype)
        mask = p[h + "bias"][:, :, :T, :T].bool()
        s = torch.where(mask, s, torch.full([], torch.finfo(s.dtype).min, dtype=s.dtype))
        a = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(B_, T, C)
        return proj(a, h + "c_proj")

    eps, T = cfg["layer_norm_epsilon"], ids.size(1)
    ln = lambda t, k: F.layer_norm(t, (t.size(-1),), p[k + ".weight"], p[k + ".bias"], eps)
    x = p["wte.weight"][ids] + p["wpe.weight"][torch.arange(T)].unsqueeze(0)
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        x = x + attention(ln(x, h + "ln_1"), h + "attn.")
        x = x + proj(g.gelu_new(proj(ln(x, h + "ln_2"), h + "mlp.c_fc")), h + "mlp.c_proj")
    logits = F.linear(ln(x, "ln_f"), p["wte.weight"])
    V = logits.size(-1)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    return logits, loss


def merge(p, ad, scaling):
    """PEFT merge for Conv1D (fan_in_fan_out): W[in, out] += (B @ A)^T * scaling."""
    return {m + ".weight": p[m + ".weight"] + (B @ A).T * scaling for m, (A, B) in ad.items()}


def init_adapter(p, cfg, leaves, r, seed):
    """A ~ U(+-1/sqrt(in)) (PEFT's kaiming_uniform(a=sqrt(5)) bound), B ~ N(0, 0.05), module order."""
    torch.manual_seed(seed)
    ad = {}
    for i in range(cfg["n_layer"]):
        for mod in MODULES:
            if mod.split(".")[1] in leaves:
                m = f"h.{i}.{mod}"
                n_in, n_out = p[m + ".weight"].shape  # Conv1D weight [in, out]
                A = torch.empty(r, n_in).uniform_(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in))
                ad[m] = (A, torch.randn(n_out, r) * 0.05)
    return ad


def adapter_config(leaves, r, alpha, rslora):
    cfg = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "testdata/gpt2-golden",
           "bias": "none", "corda_config": None, "eva_config": None, "exclude_modules": None,
           "fan_in_fan_out": True, "inference_mode": True, "init_lora_weights": True,
           "layer_replication": None, "layers_pattern": None, "layers_to_transform": None,
           "loftq_config": {}, "lora_alpha": alpha, "lora_bias": False, "lora_dropout": 0.0,
           "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
           "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None,
           "target_modules": sorted(leaves), "task_type": "CAUSAL_LM", "trainable_token_indices": None,
           "use_dora": False, "use_qalora": False, "use_rslora": rslora}
    return json.dumps(cfg, indent=2, sort_keys=True)  # PEFT: no trailing newline


# ----------------------------------------------------------------------------- fixtures
def make_case(name, leaves, r, alpha, rslora, seed, cfg, p0, ids, labels, base_logits):
    d = os.path.join(g.TESTDATA, name)
    os.makedirs(d, exist_ok=True)
    scaling = alpha / math.sqrt(r) if rslora else alpha / r
    ad0 = init_adapter(p0, cfg, leaves, r, seed)
    akey = lambda m, ab: f"{PREFIX}{m}.lora_{ab}.weight"
    print(f"{name}: {len(ad0)} LoRA modules, r={r}, lora_alpha={alpha}, rslora={rslora}, scaling={scaling!r}")

    zero = {m: (A, torch.zeros_like(B)) for m, (A, B) in ad0.items()}
    assert torch.equal(lora_forward(p0, cfg, ids, labels, zero, scaling)[0], base_logits), "B=0 != base"

    ad = {m: (A.clone().requires_grad_(True), B.clone().requires_grad_(True)) for m, (A, B) in ad0.items()}
    logits, loss = lora_forward(p0, cfg, ids, labels, ad, scaling)
    loss.backward()
    logits = logits.detach()
    merged = merge(p0, ad0, scaling)
    merged_logits, merged_loss = g.forward({**p0, **merged}, cfg, ids, labels)
    diff = (merged_logits - logits).abs().max().item()
    print(f"  loss = {loss.item():.8f} (base {g.forward(p0, cfg, ids, labels)[1].item():.8f}, "
          f"merged {merged_loss.item():.8f})")
    print(f"  merged vs unmerged logits: max abs diff = {diff:.3e}, "
          f"max rel diff = {diff / logits.abs().max().item():.3e} (relative to max |logit|)")
    assert diff <= 1e-4 * logits.abs().max().item()

    adapter = {akey(m, ab): t for m, AB in ad0.items() for ab, t in zip("AB", AB)}
    grads = {akey(m, ab): t.grad for m, AB in ad.items() for ab, t in zip("AB", AB)}
    assert all(v.abs().min() > 0 for v in grads.values()), "a zero gradient entry"
    out = {"logits": logits, "merged_logits": merged_logits,
           **{"grad." + k: v for k, v in grads.items()}, **{"merged." + k: v for k, v in merged.items()}}
    with open(os.path.join(d, "adapter_config.json"), "w", encoding="utf-8") as f:
        f.write(adapter_config(leaves, r, alpha, rslora))
    for fname, tensors in (("adapter_model.safetensors", adapter), ("golden.safetensors", out)):
        g.write_safetensors(os.path.join(d, fname), tensors)
        back = g.read_safetensors(os.path.join(d, fname))
        assert sorted(back) == sorted(tensors) and all(torch.equal(back[k], v) for k, v in tensors.items())

    # float64 central finite differences on 3 adapter entries (an A, a B, one at random)
    gen = torch.Generator().manual_seed(seed)
    p64 = {k: v.double() for k, v in p0.items()}
    ad64 = {m: (A.double(), B.double()) for m, (A, B) in ad0.items()}
    t64 = {akey(m, ab): t for m, AB in ad64.items() for ab, t in zip("AB", AB)}
    keys = sorted(t64)
    a_keys, b_keys = [k for k in keys if ".lora_A." in k], [k for k in keys if ".lora_B." in k]
    pick = lambda ks: ks[torch.randint(0, len(ks), (1,), generator=gen).item()]
    for key in (pick(a_keys), pick(b_keys), pick(keys)):
        t, h = t64[key].view(-1), 1e-6
        j = torch.randint(0, t.numel(), (1,), generator=gen).item()
        orig = t[j].item()
        t[j] = orig + h; lp = lora_forward(p64, cfg, ids, labels, ad64, scaling)[1].item()
        t[j] = orig - h; lm = lora_forward(p64, cfg, ids, labels, ad64, scaling)[1].item()
        t[j] = orig
        fd, an = (lp - lm) / (2 * h), grads[key].view(-1)[j].item()
        print(f"  fd check {key[len(PREFIX):]}[{j}]: fd64 = {fd:.6e}, autograd32 = {an:.6e}, "
              f"rel err = {abs(fd - an) / max(abs(fd), 1e-12):.2e}")

    # AdamW on the adapter only, same batch each step, loss recorded before each update
    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "steps": 10}
    train = {m: (A.clone().requires_grad_(True), B.clone().requires_grad_(True)) for m, (A, B) in ad0.items()}
    opt = torch.optim.AdamW([t for AB in train.values() for t in AB], lr=hp["lr"], betas=tuple(hp["betas"]),
                            eps=hp["eps"], weight_decay=hp["weight_decay"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        step_loss = lora_forward(p0, cfg, ids, labels, train, scaling)[1]
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    assert losses[0] == loss.item()
    print("  adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    g.write_json(os.path.join(d, "golden.json"), {
        "base": "testdata/gpt2-golden", "batch": "input_ids/labels of testdata/gpt2-golden/golden.json",
        "r": r, "lora_alpha": alpha, "use_rslora": rslora, "scaling": scaling,
        "lora_modules": [PREFIX + m for m in ad0], "loss": loss.item(), "merged_loss": merged_loss.item(),
        "adamw": {**hp, "losses": losses}, "generated_by": "tools/golden/lora_golden.py",
        "torch_version": torch.__version__})
    for f in sorted(os.listdir(d)):
        print(f"  {name}/{f}: {os.path.getsize(os.path.join(d, f)):,} bytes")


def main():
    torch.set_num_threads(1)  # bitwise-reproducible float32 reductions
    with open(os.path.join(BASE, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    with open(os.path.join(BASE, "golden.json"), encoding="utf-8") as f:
        batch = json.load(f)
    p0 = g.read_safetensors(os.path.join(BASE, "model.safetensors"))
    ids, labels = torch.tensor(batch["input_ids"]), torch.tensor(batch["labels"])
    base_logits = g.read_safetensors(os.path.join(BASE, "golden.safetensors"))["logits"]
    assert torch.equal(g.forward(p0, cfg, ids)[0], base_logits), "gpt2-golden logits not reproduced"
    for case in CASES:
        make_case(*case, cfg, p0, ids, labels, base_logits)


if __name__ == "__main__":
    main()
