#!/usr/bin/python3
"""Generate the LoRA+ golden fixture under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (no peft), after dora_golden.py:

    /usr/bin/python3 tools/golden/loraplus_golden.py

LoRA+ is an optimizer setting: PEFT's create_loraplus_optimizer (peft/optimizers/loraplus.py) puts lora_B and every
1-D trainable tensor into groups at lr * loraplus_lr_ratio ("groupB", with loraplus_weight_decay, and "groupB_no_decay"
for biases and LayerNorm weights, without), and the rest into "groupA" at lr with loraplus_weight_decay; then
torch.optim.AdamW runs over those groups. This script builds the same groups by that rule, for the DoRA adapter of
testdata/gpt2-golden-dora (lora_A at lr; lora_B and the 1-D lora_magnitude_vector at 16 lr; weight decay 0.05 on all,
none of them a bias or a norm weight), and records the losses of 10 AdamW steps on the golden batch:

testdata/gpt2-golden-loraplus/golden.json   the groups of each key, the hyper-parameters, the 10 losses
"""
import json, math, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402
import dora_golden as D  # noqa: E402


def main():
    torch.set_num_threads(1)
    adapter_dir, base = os.path.join(g.TESTDATA, "gpt2-golden-dora"), os.path.join(g.TESTDATA, "gpt2-golden")
    with open(os.path.join(base, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    with open(os.path.join(base, "golden.json"), encoding="utf-8") as f:
        batch = json.load(f)
    with open(os.path.join(adapter_dir, "adapter_config.json"), encoding="utf-8") as f:
        acfg = json.load(f)
    p0 = g.read_safetensors(os.path.join(base, "model.safetensors"))
    ids, labels = torch.tensor(batch["input_ids"]), torch.tensor(batch["labels"])
    s = acfg["lora_alpha"] / (math.sqrt(acfg["r"]) if acfg["use_rslora"] else acfg["r"])
    tensors = g.read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    prefix = "base_model.model.transformer."
    modules = sorted({k[len(prefix):].rsplit(".lora_", 1)[0] for k in tensors})
    train = {m: tuple(tensors[prefix + m + part].clone().requires_grad_(True)
                      for part in (".lora_A.weight", ".lora_B.weight", ".lora_magnitude_vector")) for m in modules}
    named = {prefix + m + part: t for m, v in train.items()
             for part, t in zip((".lora_A.weight", ".lora_B.weight", ".lora_magnitude_vector"), v)}

    hp = {"lr": 0.002, "loraplus_lr_ratio": 16.0, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.05, "steps": 10}
    groups = {"groupA": [], "groupB": [], "groupB_no_decay": []}
    for name, t in named.items():  # create_loraplus_optimizer's rule (no embedding layers, no biases or norms here)
        if "lora_B" in name or t.ndim == 1:
            groups["groupB_no_decay" if "bias" in name else "groupB"].append(name)
        else:
            groups["groupA"].append(name)
    opt = torch.optim.AdamW([
        {"params": [named[n] for n in groups["groupA"]], "weight_decay": hp["weight_decay"], "lr": hp["lr"]},
        {"params": [named[n] for n in groups["groupB"]], "weight_decay": hp["weight_decay"], "lr": hp["lr"] * hp["loraplus_lr_ratio"]},
        {"params": [named[n] for n in groups["groupB_no_decay"]], "weight_decay": 0.0, "lr": hp["lr"] * hp["loraplus_lr_ratio"]},
    ], lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        loss = D.forward("gpt2", p0, cfg, ids, labels, train, s)[1]
        loss.backward()
        losses.append(loss.item())
        opt.step()
    print("loraplus adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    d = os.path.join(g.TESTDATA, "gpt2-golden-loraplus")
    os.makedirs(d, exist_ok=True)
    g.write_json(os.path.join(d, "golden.json"), {
        "base": "testdata/gpt2-golden", "adapter": "testdata/gpt2-golden-dora",
        "batch": "input_ids/labels of testdata/gpt2-golden/golden.json", "groups": groups,
        "adamw": {**hp, "losses": losses}, "generated_by": "tools/golden/loraplus_golden.py",
        "torch_version": torch.__version__})


if __name__ == "__main__":
    main()
