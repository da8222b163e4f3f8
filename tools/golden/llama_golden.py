#!/usr/bin/python3
"""Generate the Llama-family golden fixtures under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (torch 1.13; no transformers, no pip):

    /usr/bin/python3 tools/golden/llama_golden.py

It writes, deterministically (one torch thread; rerunning gives byte-identical files):

testdata/llama-golden/    llama: GQA (4 heads, 2 kv heads, head_dim 8), hidden 32, 2 layers, intermediate 64,
                          vocab 512, rope_theta 10000 with llama3 rope_scaling (factor 8, low 1, high 4,
                          original 16; max_position_embeddings 64), untied lm_head
testdata/qwen2-golden/    qwen2: q/k/v biases, no o_proj bias, tied embeddings, linear rope_scaling (factor 2,
                          written with the old "type" key), rope_theta 1e6; sliding_window 4 with
                          use_sliding_window false (must NOT apply)
testdata/mistral-golden/  mistral: 4 heads, 1 kv head, head_dim 12 != hidden/heads, sliding_window 6 < T
    each: config.json (as HF writes it), model.safetensors (F32, HF keys), golden.json (input_ids, labels
    with -100s, HF loss, inv_freq, 10 AdamW losses), golden.safetensors (logits, grad.<key> per parameter)
testdata/llama-golden-bf16-sharded/  llama-golden's weights rounded to BF16, two shards and
    model.safetensors.index.json; golden.json / golden.safetensors: logits and loss of the BF16-rounded
    weights computed in float32

The models are HF modeling_llama.py / modeling_qwen2.py / modeling_mistral.py re-implemented in plain
PyTorch (eager attention, float32, dropout 0), the RoPE frequencies as modeling_rope_utils.py computes them.
Self-checks: every safetensors file is re-read, and three gradient entries per model are compared with
float64 central finite differences.
"""
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402  (safetensors F32 writer/reader, JSON writer)

ARCH = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"}


# ----------------------------------------------------------------------------- configs
def config(model_type, vocab, hidden, inter, heads, kv_heads, extra):
    cfg = {"architectures": [ARCH[model_type]], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
           "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inter,
           "max_position_embeddings": 64, "model_type": model_type, "num_attention_heads": heads,
           "num_hidden_layers": 2, "num_key_value_heads": kv_heads, "rms_norm_eps": 1e-06, "rope_scaling": None,
           "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "float32", "use_cache": True,
           "vocab_size": vocab}
    cfg.update(extra)
    return dict(sorted(cfg.items()))


LLAMA = config("llama", 512, 32, 64, 4, 2, {
    "attention_bias": False, "head_dim": 8, "mlp_bias": False, "pretraining_tp": 1,
    "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 16, "rope_type": "llama3"}})
QWEN2 = config("qwen2", 512, 32, 48, 4, 2, {
    "bos_token_id": 500, "eos_token_id": 501, "max_window_layers": 1, "rope_scaling": {"factor": 2.0, "type": "linear"},
    "rope_theta": 1000000.0, "sliding_window": 4, "tie_word_embeddings": True, "use_sliding_window": False})
MISTRAL = config("mistral", 256, 32, 64, 4, 1, {"head_dim": 12, "sliding_window": 6})


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def sliding_window(cfg, layer):
    """The window of `layer` (None = full causal attention), as each family's config decides it."""
    if cfg["model_type"] == "mistral":
        return cfg.get("sliding_window")
    if cfg["model_type"] == "qwen2" and cfg["use_sliding_window"] and layer >= cfg["max_window_layers"]:
        return cfg["sliding_window"]
    return None


def init_params(cfg, seed):
    """Random weights under the HF checkpoint keys, in module order. Projections ~ N(0, 1/in) so that
    attention scores are O(1) and RoPE matters; norms 1 + N(0, 0.1); biases N(0, 0.1)."""
    torch.manual_seed(seed)
    V, C, I = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"]
    NH, NKV, HD = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] == "llama" and cfg.get("attention_bias", False)
    mlp_bias = cfg.get("mlp_bias", False)
    p = {"model.embed_tokens.weight": torch.randn(V, C)}

    def linear(name, out, inp, bias):
        p[name + ".weight"] = torch.randn(out, inp) / math.sqrt(inp)
        if bias:
            p[name + ".bias"] = torch.randn(out) * 0.1

    for i in range(cfg["num_hidden_layers"]):
        a, m = f"model.layers.{i}.self_attn.", f"model.layers.{i}.mlp."
        linear(a + "q_proj", NH * HD, C, qkv_bias)
        linear(a + "k_proj", NKV * HD, C, qkv_bias)
        linear(a + "v_proj", NKV * HD, C, qkv_bias)
        linear(a + "o_proj", C, NH * HD, o_bias)
        linear(m + "gate_proj", I, C, mlp_bias)
        linear(m + "up_proj", I, C, mlp_bias)
        linear(m + "down_proj", C, I, mlp_bias)
        p[f"model.layers.{i}.input_layernorm.weight"] = 1 + torch.randn(C) * 0.1
        p[f"model.layers.{i}.post_attention_layernorm.weight"] = 1 + torch.randn(C) * 0.1
    p["model.norm.weight"] = 1 + torch.randn(C) * 0.1
    if not cfg["tie_word_embeddings"]:
        linear("lm_head", V, C, False)
    return p


# ----------------------------------------------------------------------------- model
def inv_freq(cfg):
    """modeling_rope_utils: default, linear and llama3 inverse frequencies (float32)."""
    HD, rs = head_dim(cfg), cfg["rope_scaling"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    kind = None if rs is None else rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) * ~(wavelen > old / low)
        inv = torch.where(medium, smoothed, scaled)
    else:
        assert kind is None, kind
    return inv


def rotary(cfg, T):
    """LlamaRotaryEmbedding.forward for positions 0..T-1: cos, sin [T, HD] (float32)."""
    freqs = (inv_freq(cfg)[:, None].float() @ torch.arange(T)[None, :].float()).transpose(0, 1)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x, w, eps):  # LlamaRMSNorm in float32
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def linear(p, x, name):
    return F.linear(x, p[name + ".weight"], p.get(name + ".bias"))


def attention(p, x, a, cfg, cos, sin, window):
    """LlamaAttention with eager_attention_forward: RoPE on q, k; repeat_kv; causal (+ sliding) mask."""
    B, T, _ = x.shape
    NH, NKV, HD = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    q = linear(p, x, a + "q_proj").view(B, T, NH, HD).transpose(1, 2)
    k = linear(p, x, a + "k_proj").view(B, T, NKV, HD).transpose(1, 2)
    v = linear(p, x, a + "v_proj").view(B, T, NKV, HD).transpose(1, 2)
    q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
    k, v = k.repeat_interleave(NH // NKV, dim=1), v.repeat_interleave(NH // NKV, dim=1)
    s = torch.matmul(q, k.transpose(2, 3)) * HD ** -0.5
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    visible = j <= i
    if window is not None:
        visible = visible & (j > i - window)  # masking_utils.sliding_window_overlay
    s = torch.where(visible, s, torch.full([], torch.finfo(s.dtype).min, dtype=s.dtype))
    probs = F.softmax(s, dim=-1, dtype=torch.promote_types(s.dtype, torch.float32))  # HF: at least float32
    o = torch.matmul(probs.to(q.dtype), v)
    return linear(p, o.transpose(1, 2).reshape(B, T, NH * HD), a + "o_proj")


def forward(p, cfg, ids, labels=None):
    """<Family>ForCausalLM forward (eval). Returns (logits, HF loss or None)."""
    eps = cfg["rms_norm_eps"]
    x = p["model.embed_tokens.weight"][ids]
    cos, sin = (t.to(x.dtype) for t in rotary(cfg, ids.size(1)))
    for i in range(cfg["num_hidden_layers"]):
        l = f"model.layers.{i}."
        h = rms_norm(x, p[l + "input_layernorm.weight"], eps)
        x = x + attention(p, h, l + "self_attn.", cfg, cos, sin, sliding_window(cfg, i))
        h = rms_norm(x, p[l + "post_attention_layernorm.weight"], eps)
        m = F.silu(linear(p, h, l + "mlp.gate_proj")) * linear(p, h, l + "mlp.up_proj")
        x = x + linear(p, m, l + "mlp.down_proj")
    x = rms_norm(x, p["model.norm.weight"], eps)
    logits = F.linear(x, p["model.embed_tokens.weight" if cfg["tie_word_embeddings"] else "lm_head.weight"])
    if labels is None:
        return logits, None
    V = logits.size(-1)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    return logits, loss


# ----------------------------------------------------------------------------- BF16 safetensors
def write_bf16(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        data = tensors[k].to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
        header[k] = {"dtype": "BF16", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
    return off


def read_bf16(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header.pop("__metadata__")
    out = {}
    for k, v in header.items():
        b, e = v["data_offsets"]
        assert v["dtype"] == "BF16" and e - b == 2 * math.prod(v["shape"]), k
        out[k] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=torch.int16).view(torch.bfloat16) \
            .float().view(v["shape"])
    return out


# ----------------------------------------------------------------------------- fixtures
def batch(cfg, B, T):
    ids = torch.randint(0, cfg["vocab_size"], (B, T))  # continues the seeded stream
    labels = ids.clone()
    labels[0, 3] = labels[0, 12] = labels[1, 7] = -100
    return ids, labels


def fd_check(p0, cfg, ids, labels, grads, keys, seed):
    gen = torch.Generator().manual_seed(seed)
    p64 = {k: v.double() for k, v in p0.items()}

    def loss_at(t, j, value):
        t[j] = value
        return forward(p64, cfg, ids, labels)[1].item()

    for key in keys:
        t, h = p64[key].view(-1), 1e-6
        j = torch.randint(0, t.numel(), (1,), generator=gen).item()
        if key == "model.embed_tokens.weight":  # a row the batch uses
            j = ids[0, 1].item() * p64[key].size(1) + j % p64[key].size(1)
        orig = t[j].item()
        fd = (loss_at(t, j, orig + h) - loss_at(t, j, orig - h)) / (2 * h)
        t[j] = orig
        ad = grads[key].view(-1)[j].item()
        print(f"  fd check {key}[{j}]: fd64 = {fd:.6e}, autograd32 = {ad:.6e}, "
              f"rel err = {abs(fd - ad) / max(abs(fd), 1e-12):.2e}")


def make_golden(name, cfg, seed, B=2, T=20):
    d = os.path.join(g.TESTDATA, name)
    p0 = init_params(cfg, seed)
    ids, labels = batch(cfg, B, T)
    g.save_model(d, cfg, p0)
    p = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    logits, loss = forward(p, cfg, ids, labels)
    loss.backward()
    print(f"{name}: loss = {loss.item():.8f}, inv_freq = {inv_freq(cfg).tolist()}")
    loaded = g.read_safetensors(os.path.join(d, "model.safetensors"))
    assert sorted(loaded) == sorted(p0) and torch.equal(forward(loaded, cfg, ids)[0], logits.detach())
    out = {"logits": logits.detach(), **{"grad." + k: p[k].grad for k in p0}}
    g.write_safetensors(os.path.join(d, "golden.safetensors"), out)
    assert all(torch.equal(v, out[k]) for k, v in g.read_safetensors(os.path.join(d, "golden.safetensors")).items())
    fd_check(p0, cfg, ids, labels, {k: p[k].grad for k in p0},
             ["model.embed_tokens.weight", "model.layers.0.self_attn.k_proj.weight", list(p0)[-2]], seed + 1)

    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1, "steps": 10}
    train = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    opt = torch.optim.AdamW(list(train.values()), lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"],
                            weight_decay=hp["weight_decay"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        step_loss = forward(train, cfg, ids, labels)[1]
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    assert losses[0] == loss.item()
    print("  adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    g.write_json(os.path.join(d, "golden.json"), {
        "input_ids": ids.tolist(), "labels": labels.tolist(), "loss": loss.item(), "inv_freq": inv_freq(cfg).tolist(),
        "adamw": {**hp, "losses": losses}, "generated_by": "tools/golden/llama_golden.py",
        "torch_version": torch.__version__})
    return p0, ids, labels


def make_bf16_sharded(p0, ids, labels):
    d = os.path.join(g.TESTDATA, "llama-golden-bf16-sharded")
    os.makedirs(d, exist_ok=True)
    g.write_json(os.path.join(d, "config.json"), {**LLAMA, "torch_dtype": "bfloat16"})
    first = lambda k: k.startswith("model.embed_tokens.") or k.startswith("model.layers.0.")
    shards = {"model-00001-of-00002.safetensors": {k: v for k, v in p0.items() if first(k)},
              "model-00002-of-00002.safetensors": {k: v for k, v in p0.items() if not first(k)}}
    total, weight_map = 0, {}
    for file, tensors in shards.items():
        total += write_bf16(os.path.join(d, file), tensors)
        weight_map.update({k: file for k in tensors})
    g.write_json(os.path.join(d, "model.safetensors.index.json"),
                 {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    rounded = {k: v.to(torch.bfloat16).float() for k, v in p0.items()}
    loaded = {}
    for file in shards:
        loaded.update(read_bf16(os.path.join(d, file)))
    assert sorted(loaded) == sorted(rounded) and all(torch.equal(loaded[k], v) for k, v in rounded.items())
    logits, loss = forward(loaded, LLAMA, ids, labels)
    print(f"llama-golden-bf16-sharded: loss = {loss.item():.8f}, "
          f"max |logits - f32 logits| = {(logits - forward(p0, LLAMA, ids)[0]).abs().max().item():.3e}")
    g.write_safetensors(os.path.join(d, "golden.safetensors"), {"logits": logits})
    g.write_json(os.path.join(d, "golden.json"), {
        "input_ids": ids.tolist(), "labels": labels.tolist(), "loss": loss.item(),
        "generated_by": "tools/golden/llama_golden.py", "torch_version": torch.__version__})


def main():
    torch.set_num_threads(1)  # bitwise-reproducible float32 reductions
    p0, ids, labels = make_golden("llama-golden", LLAMA, 2024)
    make_golden("qwen2-golden", QWEN2, 2025)
    make_golden("mistral-golden", MISTRAL, 2026)
    make_bf16_sharded(p0, ids, labels)
    for sub in ("llama-golden", "qwen2-golden", "mistral-golden", "llama-golden-bf16-sharded"):
        for f in sorted(os.listdir(os.path.join(g.TESTDATA, sub))):
            print(f"  {sub}/{f}: {os.path.getsize(os.path.join(g.TESTDATA, sub, f)):,} bytes")


if __name__ == "__main__":
    main()
