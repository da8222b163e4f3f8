#!/usr/bin/env python3
"""PyTorch side of `lora4j bench train --preset minilm-l6`: an encoder's LoRA training speed and memory.

all-MiniLM-L6-v2's shape (BERT: 6 layers, 384 wide, 12 heads, FFN 1,536, vocabulary 30,522, post-LayerNorm eps 1e-12,
exact GELU) with a pooler and a 2-label classifier, written out in plain PyTorch with Hugging Face's
BertForSequenceClassification semantics (additive attention mask, pooler = tanh(dense(first token))), random weights
as lora4j's RandomInit draws them in kind (matrices and embeddings N(0, 0.02), norm weights 1, biases 0), no dropout.
LoRA as PEFT puts it on query and value (A kaiming-uniform a=sqrt(5), B zeros, scaling alpha/r); the pooler and the
classifier train whole (PEFT's modules_to_save for SEQ_CLS, as lora4j's quick start trains them). AdamW lr 2e-4 on
random token batches (no padding) and random labels; prints one JSON object with torch_reference.py's fields.

    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 tools/bench/torch_encoder_reference.py --batch 16 --seq 128
"""
import argparse, json, math, os, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    # name: (n_layer, d_model, n_head, d_ff, vocab, labels)
    "minilm-l6": (6, 384, 12, 1536, 30522, 2),
}


class LoraLinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


class Layer(nn.Module):
    """BertLayer: self-attention, output dense + residual + LayerNorm, intermediate GELU, output + residual + LayerNorm."""

    def __init__(self, d, nh, dff):
        super().__init__()
        self.nh, self.hd = nh, d // nh
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attention_output = nn.Linear(d, d)
        self.attention_norm = nn.LayerNorm(d, eps=1e-12)
        self.intermediate = nn.Linear(d, dff)
        self.output = nn.Linear(dff, d)
        self.output_norm = nn.LayerNorm(d, eps=1e-12)

    def heads(self, x):  # (B, T, C) -> (B, nh, T, hd)
        B, T, _ = x.shape
        return x.view(B, T, self.nh, self.hd).transpose(1, 2)

    def forward(self, x, mask):  # x (B, T, C), mask (B, 1, 1, T) additive
        B, T, C = x.shape
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd) + mask
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = self.attention_norm(x + self.attention_output(y))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class Classifier(nn.Module):
    def __init__(self, n_layer, d, nh, dff, vocab, labels, positions=512):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(positions, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.embeddings_norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(Layer(d, nh, dff) for _ in range(n_layer))
        self.pooler = nn.Linear(d, d)
        self.classifier = nn.Linear(d, labels)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids, attention_mask, labels):
        B, T = ids.shape
        x = self.word_embeddings(ids) + self.position_embeddings(torch.arange(T)) + self.token_type_embeddings(torch.zeros_like(ids))
        x = self.embeddings_norm(x)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return F.cross_entropy(self.classifier(pooled), labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="minilm-l6", choices=sorted(PRESETS))
    ap.add_argument("--mode", default="lora", choices=["lora", "full"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(0)
    L, d, nh, dff, V, labels = PRESETS[a.preset]
    model = Classifier(L, d, nh, dff, V, labels)
    total = sum(p.numel() for p in model.parameters())
    targets = ["query", "value"]
    if a.mode == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.layers:
            for t in targets:
                setattr(layer, t, LoraLinear(getattr(layer, t), a.rank, a.alpha))
        for head in (model.pooler, model.classifier):
            for p in head.parameters():
                p.requires_grad_(True)
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=2e-4)
    g = torch.Generator().manual_seed(1)
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    times, losses = [], []
    for step in range(a.warmup + a.steps):
        ids = torch.randint(0, V, (a.batch, a.seq), generator=g)
        y = torch.randint(0, labels, (a.batch,), generator=g)
        t0 = time.perf_counter()
        loss = model(ids, mask, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if step >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({
        "impl": "pytorch-%s" % torch.__version__, "preset": a.preset, "mode": a.mode,
        "batch": a.batch, "seq": a.seq, "rank": a.rank if a.mode == "lora" else None,
        "targets": targets if a.mode == "lora" else None, "threads": torch.get_num_threads(),
        "params_total": total, "params_trainable": trainable,
        "step_s_median": round(med, 4), "step_s_min": round(min(times), 4), "step_s_max": round(max(times), 4),
        "tokens_per_s": round(a.batch * a.seq / med, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "first_loss": round(losses[0], 4), "last_loss": round(losses[-1], 4),
    }))


if __name__ == "__main__":
    main()
