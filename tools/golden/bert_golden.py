#!/usr/bin/python3
"""Generate the BERT / RoBERTa golden fixtures under testdata/ for lora4j's Java tests.

Run by hand from the repository root with Debian's PyTorch (no transformers, no peft, no pip):

    /usr/bin/python3 tools/golden/bert_golden.py

It imports gpt2_golden.py for the safetensors writer/reader and the JSON writer, and writes
(deterministically; rerunning gives byte-identical files):

testdata/bert-golden/       tiny random BertForSequenceClassification (HF modeling_bert.py semantics):
                            vocab 100, hidden 32, 2 layers, 4 heads, intermediate 64, 3 labels, exact GELU,
                            keys with the `bert.` prefix, pooler, `classifier.*`
testdata/roberta-golden/    tiny random RobertaForSequenceClassification (modeling_roberta.py): padding_idx 1,
                            positions from padding_idx + 1 skipping pads, no pooler, RobertaClassificationHead
  each: config.json, model.safetensors, golden.json (padded batch: input_ids, token_type_ids, attention_mask
  with zeros, labels; HF loss; 10 AdamW losses over every parameter), golden.safetensors (logits, grad.<key>)
testdata/bert-golden-lora/, testdata/roberta-golden-lora/
                            PEFT SEQ_CLS adapters for those models: LoRA r=4, alpha=8 on query and value (B non-zero)
                            and the classifier in modules_to_save (values changed), saved under PEFT's keys;
                            golden.safetensors: logits, grad.<adapter key>; golden.json: loss, 10 AdamW losses
testdata/bert-tiny/         bert-golden's encoder as a bare BertModel checkpoint (keys without prefix, pooler,
                            dropout 0.1) with a hand-written 100-token WordPiece tokenizer.json, for CLI tests
testdata/labelled/          small sentiment texts in that vocabulary: train.jsonl (string labels),
                            valid.csv (quoted fields), valid.tsv

Models are re-implemented in plain PyTorch, float32, dropout 0. The extended attention mask is HF's:
(1 - attention_mask) * finfo(dtype).min added to the scores. Gradients are spot-checked against float64
central finite differences.
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402  (safetensors writer/reader, JSON writer)

LABELS = ["negative", "neutral", "positive"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = [".", ",", "!", "?", "'"]
POSITIVE = ["good", "great", "excellent", "happy", "lovely", "fine", "nice", "wonderful", "best", "awesome",
            "brilliant", "superb"]
NEGATIVE = ["bad", "terrible", "awful", "sad", "poor", "worst", "boring", "horrible", "ugly", "dull", "weak", "broken"]
NOUNS = ["movie", "film", "book", "food", "service", "story", "music", "show", "place", "staff", "day", "game"]
OTHER = ["the", "a", "an", "this", "that", "it", "was", "is", "were", "are", "and", "but", "very", "really", "quite",
         "so", "not", "too", "i", "we", "you", "they", "liked", "loved", "hated", "enjoyed", "felt", "found", "thought",
         "all", "of", "in", "at", "with", "for", "my", "our", "one", "time", "again", "just", "overall", "##s", "##ly",
         "##ed", "##ing", "##er", "##est", "##ness", "##y", "##ful", "##less", "movies", "films"]
VOCAB = SPECIAL + PUNCT + POSITIVE + NEGATIVE + NOUNS + OTHER
assert len(VOCAB) == 100 and len(set(VOCAB)) == 100


# ----------------------------------------------------------------------------- config and weights
def config(kind):
    roberta = kind == "roberta"
    cfg = {"architectures": ["RobertaForSequenceClassification" if roberta else "BertForSequenceClassification"],
           "attention_probs_dropout_prob": 0.0, "classifier_dropout": None, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.0, "hidden_size": 32, "id2label": {str(i): n for i, n in enumerate(LABELS)},
           "initializer_range": 0.02, "intermediate_size": 64, "label2id": {n: i for i, n in enumerate(LABELS)},
           "layer_norm_eps": 1e-05 if roberta else 1e-12, "max_position_embeddings": 34 if roberta else 32,
           "model_type": kind, "num_attention_heads": 4, "num_hidden_layers": 2, "pad_token_id": 1 if roberta else 0,
           "position_embedding_type": "absolute", "problem_type": "single_label_classification",
           "torch_dtype": "float32", "type_vocab_size": 1 if roberta else 2, "vocab_size": 100}
    if roberta:
        cfg["bos_token_id"], cfg["eos_token_id"] = 0, 2
    return dict(sorted(cfg.items()))


def init_params(cfg, seed):
    """Random weights under the task checkpoint's keys, in module order; scales chosen so attention is not uniform."""
    torch.manual_seed(seed)
    pre = cfg["model_type"] + "."
    C, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    lin = lambda o, i: (torch.randn(o, i) * 0.15, torch.randn(o) * 0.05)
    ln = lambda: (1 + torch.randn(C) * 0.1, torch.randn(C) * 0.05)
    p = {pre + "embeddings.word_embeddings.weight": torch.randn(V, C) * 0.5,
         pre + "embeddings.position_embeddings.weight": torch.randn(cfg["max_position_embeddings"], C) * 0.5,
         pre + "embeddings.token_type_embeddings.weight": torch.randn(cfg["type_vocab_size"], C) * 0.5}
    p[pre + "embeddings.LayerNorm.weight"], p[pre + "embeddings.LayerNorm.bias"] = ln()
    for i in range(cfg["num_hidden_layers"]):
        h = f"{pre}encoder.layer.{i}."
        for m in ("query", "key", "value"):
            p[h + f"attention.self.{m}.weight"], p[h + f"attention.self.{m}.bias"] = lin(C, C)
        p[h + "attention.output.dense.weight"], p[h + "attention.output.dense.bias"] = lin(C, C)
        p[h + "attention.output.LayerNorm.weight"], p[h + "attention.output.LayerNorm.bias"] = ln()
        p[h + "intermediate.dense.weight"], p[h + "intermediate.dense.bias"] = lin(I, C)
        p[h + "output.dense.weight"], p[h + "output.dense.bias"] = lin(C, I)
        p[h + "output.LayerNorm.weight"], p[h + "output.LayerNorm.bias"] = ln()
    L = len(LABELS)
    if cfg["model_type"] == "roberta":
        p["classifier.dense.weight"], p["classifier.dense.bias"] = lin(C, C)
        p["classifier.out_proj.weight"], p["classifier.out_proj.bias"] = torch.randn(L, C) * 0.3, torch.randn(L) * 0.05
    else:
        p[pre + "pooler.dense.weight"], p[pre + "pooler.dense.bias"] = lin(C, C)
        p["classifier.weight"], p["classifier.bias"] = torch.randn(L, C) * 0.3, torch.randn(L) * 0.05
    return p


def batch(cfg, seed):
    """B=3, T=10, right-padded (lengths 10, 6, 3); BERT's first row has a second segment (token type 1)."""
    torch.manual_seed(seed)
    roberta, pad = cfg["model_type"] == "roberta", cfg["pad_token_id"]
    cls, sep = (0, 2) if roberta else (2, 3)
    B, T, lengths = 3, 10, [10, 6, 3]
    ids = torch.full((B, T), pad, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(5, cfg["vocab_size"], (n,))
        ids[b, 0], ids[b, n - 1] = cls, sep
        mask[b, :n] = 1
    if not roberta:
        ids[0, 5] = sep
        types[0, 6:10] = 1
    return ids, types, mask, torch.tensor([2, 0, 1])


# ----------------------------------------------------------------------------- model (HF semantics)
def position_ids(cfg, ids):
    if cfg["model_type"] != "roberta":
        return torch.arange(ids.size(1)).unsqueeze(0).expand_as(ids)
    pad = cfg["pad_token_id"]  # RoBERTa's create_position_ids_from_input_ids
    m = ids.ne(pad).int()
    return (torch.cumsum(m, dim=1).type_as(m) * m).long() + pad


def forward(p, cfg, ids, types, mask, labels, lora=None, scaling=0.0):
    """*ForSequenceClassification forward (eval / dropout 0); lora = {"<prefix>encoder.layer.N.attention.self.query": (A, B)}."""
    pre, eps, nh = cfg["model_type"] + ".", cfg["layer_norm_eps"], cfg["num_attention_heads"]
    ln = lambda t, k: F.layer_norm(t, (t.size(-1),), p[k + ".weight"], p[k + ".bias"], eps)

    def linear(x, m):
        y = F.linear(x, p[m + ".weight"], p[m + ".bias"])
        if lora and m in lora:
            A, B_ = lora[m]
            y = y + F.linear(F.linear(x, A), B_) * scaling  # PEFT lora.Linear
        return y

    e = pre + "embeddings."
    x = p[e + "word_embeddings.weight"][ids] + p[e + "token_type_embeddings.weight"][types]
    x = x + p[e + "position_embeddings.weight"][position_ids(cfg, ids)]
    x = ln(x, e + "LayerNorm")
    dtype = x.dtype
    ext = (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min  # get_extended_attention_mask
    Bn, T, C = x.shape
    heads = lambda t: t.view(Bn, T, nh, C // nh).permute(0, 2, 1, 3)
    for i in range(cfg["num_hidden_layers"]):
        h = f"{pre}encoder.layer.{i}."
        q, k, v = (heads(linear(x, h + f"attention.self.{m}")) for m in ("query", "key", "value"))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // nh) + ext
        a = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(Bn, T, C)
        x = ln(linear(a, h + "attention.output.dense") + x, h + "attention.output.LayerNorm")
        m = F.gelu(linear(x, h + "intermediate.dense"))
        x = ln(linear(m, h + "output.dense") + x, h + "output.LayerNorm")
    if cfg["model_type"] == "roberta":
        logits = linear(torch.tanh(linear(x[:, 0], "classifier.dense")), "classifier.out_proj")
    else:
        logits = linear(torch.tanh(linear(x[:, 0], pre + "pooler.dense")), "classifier")
    return logits, F.cross_entropy(logits, labels)


# ----------------------------------------------------------------------------- fixtures
def fd_check(loss64, tensors64, grads, keys, seed):
    gen = torch.Generator().manual_seed(seed)
    for key in keys:
        t, h = tensors64[key].view(-1), 1e-6
        j = torch.randint(0, t.numel(), (1,), generator=gen).item()
        orig = t[j].item()
        t[j] = orig + h; lp = loss64()
        t[j] = orig - h; lm = loss64()
        t[j] = orig
        fd, an = (lp - lm) / (2 * h), grads[key].view(-1)[j].item()
        print(f"  fd check {key}[{j}]: fd64 = {fd:.6e}, autograd32 = {an:.6e}, rel err = {abs(fd - an) / max(abs(fd), 1e-12):.2e}")


def adamw_losses(loss_fn, train, hp):
    opt = torch.optim.AdamW(list(train.values()), lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"],
                            weight_decay=hp["weight_decay"], foreach=False)
    losses = []
    for _ in range(hp["steps"]):
        opt.zero_grad()
        step_loss = loss_fn(train)
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    print("  adamw losses:", " ".join(f"{x:.6f}" for x in losses))
    return losses


def write_checked(path, tensors):
    g.write_safetensors(path, tensors)
    back = g.read_safetensors(path)
    assert sorted(back) == sorted(tensors) and all(torch.equal(back[k], v) for k, v in tensors.items())


def make_golden(kind, seed):
    d = os.path.join(g.TESTDATA, f"{kind}-golden")
    os.makedirs(d, exist_ok=True)
    cfg = config(kind)
    p0 = init_params(cfg, seed)
    ids, types, mask, labels = batch(cfg, seed + 1)
    g.write_json(os.path.join(d, "config.json"), cfg)
    write_checked(os.path.join(d, "model.safetensors"), p0)
    p = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    logits, loss = forward(p, cfg, ids, types, mask, labels)
    loss.backward()
    print(f"{kind}-golden: {len(p0)} tensors, loss = {loss.item():.8f}")
    write_checked(os.path.join(d, "golden.safetensors"), {"logits": logits.detach(), **{"grad." + k: p[k].grad for k in p}})
    p64 = {k: v.double() for k, v in p0.items()}
    names = sorted(p0)
    picks = [[k for k in names if "word_embeddings" in k][0], [k for k in names if "query.weight" in k][0],
             [k for k in names if k.startswith("classifier")][-1]]
    fd_check(lambda: forward(p64, cfg, ids, types, mask, labels)[1].item(), p64, {k: p[k].grad for k in p}, picks, seed)
    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1, "steps": 10}
    train = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    losses = adamw_losses(lambda t: forward(t, cfg, ids, types, mask, labels)[1], train, hp)
    assert losses[0] == loss.item()
    g.write_json(os.path.join(d, "golden.json"), {
        "input_ids": ids.tolist(), "token_type_ids": types.tolist(), "attention_mask": mask.tolist(),
        "labels": labels.tolist(), "loss": loss.item(), "adamw": {**hp, "losses": losses},
        "generated_by": "tools/golden/bert_golden.py", "torch_version": torch.__version__})
    return cfg, p0, (ids, types, mask, labels)


def adapter_config(kind, r, alpha):
    cfg = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": f"testdata/{kind}-golden",
           "bias": "none", "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True,
           "init_lora_weights": True, "layer_replication": None, "layers_pattern": None, "layers_to_transform": None,
           "loftq_config": {}, "lora_alpha": alpha, "lora_bias": False, "lora_dropout": 0.0, "megatron_config": None,
           "megatron_core": "megatron.core", "modules_to_save": ["classifier", "score"], "peft_type": "LORA", "r": r,
           "rank_pattern": {}, "revision": None, "target_modules": ["query", "value"], "task_type": "SEQ_CLS",
           "use_dora": False, "use_rslora": False}
    return json.dumps(cfg, indent=2, sort_keys=True)  # PEFT: no trailing newline


def make_lora(kind, cfg, p0, data, seed, r=4, alpha=8):
    """LoRA on query/value + classifier in modules_to_save, PEFT's keys (PeftModelForSequenceClassification)."""
    d = os.path.join(g.TESTDATA, f"{kind}-golden-lora")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    pre, C, scaling = kind + ".", cfg["hidden_size"], alpha / r
    lora = {}
    for i in range(cfg["num_hidden_layers"]):
        for m in ("query", "value"):
            A = torch.empty(r, C).uniform_(-1 / math.sqrt(C), 1 / math.sqrt(C))
            lora[f"{pre}encoder.layer.{i}.attention.self.{m}"] = (A, torch.randn(C, r) * 0.05)
    head = {k: v + torch.randn(v.shape) * 0.1 for k, v in p0.items() if k.startswith("classifier.")}
    adapter = {f"base_model.model.{m}.lora_{ab}.weight": t for m, AB in lora.items() for ab, t in zip("AB", AB)}
    adapter.update({f"base_model.model.{k}": v for k, v in head.items()})

    def loss_of(tensors):
        lo = {m: (tensors[f"base_model.model.{m}.lora_A.weight"], tensors[f"base_model.model.{m}.lora_B.weight"]) for m in lora}
        ps = {**p0, **{k: tensors["base_model.model." + k] for k in head}}
        return forward(ps, cfg, *data, lora=lo, scaling=scaling)

    train = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
    logits, loss = loss_of(train)
    loss.backward()
    grads = {k: t.grad for k, t in train.items()}
    print(f"{kind}-golden-lora: {len(lora)} LoRA modules, r={r}, alpha={alpha}, loss = {loss.item():.8f}")
    with open(os.path.join(d, "adapter_config.json"), "w", encoding="utf-8") as f:
        f.write(adapter_config(kind, r, alpha))
    write_checked(os.path.join(d, "adapter_model.safetensors"), adapter)
    write_checked(os.path.join(d, "golden.safetensors"), {"logits": logits.detach(), **{"grad." + k: v for k, v in grads.items()}})
    a64 = {k: v.double() for k, v in adapter.items()}
    p64 = {k: v.double() for k, v in p0.items()}

    def loss64():
        lo = {m: (a64[f"base_model.model.{m}.lora_A.weight"], a64[f"base_model.model.{m}.lora_B.weight"]) for m in lora}
        ps = {**p64, **{k: a64["base_model.model." + k] for k in head}}
        return forward(ps, cfg, *data, lora=lo, scaling=scaling)[1].item()

    keys = sorted(adapter)
    fd_check(loss64, a64, grads, [[k for k in keys if "lora_A" in k][0], [k for k in keys if "lora_B" in k][-1],
                                  [k for k in keys if "classifier" in k][0]], seed)
    hp = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "steps": 10}
    losses = adamw_losses(lambda t: loss_of(t)[1], {k: v.clone().requires_grad_(True) for k, v in adapter.items()}, hp)
    assert losses[0] == loss.item()
    g.write_json(os.path.join(d, "golden.json"), {
        "base": f"testdata/{kind}-golden", "batch": f"the batch of testdata/{kind}-golden/golden.json",
        "r": r, "lora_alpha": alpha, "scaling": scaling, "lora_modules": sorted(lora), "loss": loss.item(),
        "adamw": {**hp, "losses": losses}, "generated_by": "tools/golden/bert_golden.py", "torch_version": torch.__version__})


def wordpiece_tokenizer():
    """A Hugging Face tokenizer.json in BERT's layout (BertNormalizer lower-casing, [CLS] A [SEP] template)."""
    special = lambda i, t: {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    tmpl = lambda s, t: {"SpecialToken": {"id": s, "type_id": t}}
    seq = lambda s, t: {"Sequence": {"id": s, "type_id": t}}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [special(i, t) for i, t in enumerate(SPECIAL)],
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": True},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [tmpl("[CLS]", 0), seq("A", 0), tmpl("[SEP]", 0)],
                               "pair": [tmpl("[CLS]", 0), seq("A", 0), tmpl("[SEP]", 0), seq("B", 1), tmpl("[SEP]", 1)],
                               "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                                  "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(VOCAB)}}}


def make_tiny(cfg, p0):
    d = os.path.join(g.TESTDATA, "bert-tiny")
    os.makedirs(d, exist_ok=True)
    tiny = {k: v for k, v in cfg.items() if k not in ("id2label", "label2id", "problem_type", "classifier_dropout")}
    tiny.update({"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1})
    g.write_json(os.path.join(d, "config.json"), dict(sorted(tiny.items())))
    write_checked(os.path.join(d, "model.safetensors"), {k[len("bert."):]: v for k, v in p0.items() if k.startswith("bert.")})
    g.write_json(os.path.join(d, "tokenizer.json"), wordpiece_tokenizer(), compact=True)
    g.write_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": True, "model_max_length": 32,
                                                            "tokenizer_class": "BertTokenizer"})


def make_labelled(seed):
    """Sentiment sentences from templates; positive / negative by the adjective's list."""
    gen = torch.Generator().manual_seed(seed)
    pick = lambda xs: xs[torch.randint(0, len(xs), (1,), generator=gen).item()]
    templates = ["the {n} was {a}", "this {n} is really {a}", "i thought the {n} was so {a}", "a {a} {n}, {a} time",
                 "overall the {n} is {a} !", "we found the {n} quite {a} and {a}"]

    def examples(n):
        out = []
        for _ in range(n):
            label = pick(["positive", "negative"])
            adj = POSITIVE if label == "positive" else NEGATIVE
            text = pick(templates).replace("{n}", pick(NOUNS))
            while "{a}" in text:
                text = text.replace("{a}", pick(adj), 1)
            out.append((text, label))
        return out

    d = os.path.join(g.TESTDATA, "labelled")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "train.jsonl"), "w", encoding="utf-8") as f:
        for text, label in examples(64):
            f.write(json.dumps({"text": text, "label": label}) + "\n")
    valid = examples(16)
    with open(os.path.join(d, "valid.csv"), "w", encoding="utf-8") as f:
        f.write("id,text,label\n")
        for i, (text, label) in enumerate(valid):
            f.write(f'{i},"{text}",{label}\n' if "," in text else f"{i},{text},{label}\n")
    with open(os.path.join(d, "valid.tsv"), "w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        for text, label in valid:
            f.write(f"{text}\t{label}\n")


def main():
    torch.set_num_threads(1)  # bitwise-reproducible float32 reductions
    for kind, seed in (("bert", 2024), ("roberta", 2025)):
        cfg, p0, data = make_golden(kind, seed)
        make_lora(kind, cfg, p0, data, seed + 7)
        if kind == "bert":
            make_tiny(cfg, p0)
    make_labelled(77)
    for sub in ("bert-golden", "roberta-golden", "bert-golden-lora", "roberta-golden-lora", "bert-tiny", "labelled"):
        for f in sorted(os.listdir(os.path.join(g.TESTDATA, sub))):
            print(f"  {sub}/{f}: {os.path.getsize(os.path.join(g.TESTDATA, sub, f)):,} bytes")


if __name__ == "__main__":
    main()
