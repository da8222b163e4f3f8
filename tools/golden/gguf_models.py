#!/usr/bin/env python3
"""Writes the tiny Hugging Face models that the GGUF tests turn into GGUF files (with `lora4j to-gguf`, see
gguf_models.sh) and the PEFT adapters for them. Random weights (numpy, seeded; larger than an initialisation so the
distributions are far from uniform) and small tokenizers trained here on Moby-Dick chapter 1:

  testdata/gguf/tiny-llama/   llama, GQA (4 heads, 2 KV heads), untied head; a SentencePiece-style BPE tokenizer.json
                              (byte fallback, "▁" for spaces: what transformers' LlamaConverter writes), add_bos_token
  testdata/gguf/tiny-qwen2/   qwen2 (q/k/v biases, tied embeddings); a byte-level BPE tokenizer.json with Qwen2's split
                              regex and NFC, ChatML special tokens and chat template
  testdata/gguf/tiny-llama-lora/  PEFT adapter for tiny-llama: r=4, alpha=8, use_rslora, q/k/v/o/gate/up/down, B non-zero
  testdata/gguf/tiny-qwen2-lora/  PEFT adapter for tiny-qwen2: r=2, alpha=4, q_proj,k_proj,v_proj, rank_pattern k_proj: 4

numpy only. Deterministic: two runs give identical files.
"""
import json
import re
import struct
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "testdata" / "gguf"
TEXT = (ROOT / "testdata" / "moby-dick" / "train.txt").read_text(encoding="utf-8")[:20000]


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def train_merges(words, alphabet, n_merges):
    """Plain BPE training: words are tuples of symbols; returns the merges in order."""
    counts = Counter(words)
    vocab = {tuple(w): c for w, c in counts.items()}
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in vocab.items():
            for a, b in zip(w, w[1:]):
                pairs[a, b] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        new = {}
        for w, c in vocab.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        vocab = new
    return merges


def spm_tokenizer():
    specials = ["<unk>", "<s>", "</s>"]
    tokens = specials + ["<0x%02X>" % i for i in range(256)]
    text = "▁" + TEXT.replace(" ", "▁").replace("\n", "▁")
    chars = sorted(set(text) - set(tokens))
    chars = [c for c in chars if c.isascii() or c == "▁"]       # the rest falls back to bytes
    tokens += chars
    words = [tuple("▁" + w) for w in TEXT.split()]
    words = [w for w in words if all(c in chars for c in w)]
    merges = train_merges(words, chars, 120)
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    vocab = {t: i for i, t in enumerate(tokens)}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in enumerate(specials)],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                           {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                                     {"type": "ByteFallback"}, {"type": "Fuse"},
                                                     {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def byte_level_tokenizer():
    b2u = bytes_to_unicode()
    tokens = [b2u[i] for i in range(256)]
    words = [tuple(b2u[b] for b in w.encode()) for w in re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", TEXT)]
    merges = train_merges(words, tokens, 120)
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens += specials
    vocab = {t: i for i, t in enumerate(tokens)}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t in specials],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def llama_weights(rng, c, qkv_bias):
    H, I, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = H // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    w = {"model.embed_tokens.weight": rng.standard_normal((V, H))}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for name, (o, n) in {"self_attn.q_proj": (q, H), "self_attn.k_proj": (kv, H), "self_attn.v_proj": (kv, H),
                             "self_attn.o_proj": (H, q), "mlp.gate_proj": (I, H), "mlp.up_proj": (I, H),
                             "mlp.down_proj": (H, I)}.items():
            w[p + name + ".weight"] = rng.standard_normal((o, n)) * (1.5 / np.sqrt(n))
            if qkv_bias and name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                w[p + name + ".bias"] = rng.standard_normal(o) * 0.3
        w[p + "input_layernorm.weight"] = 1 + 0.2 * rng.standard_normal(H)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.2 * rng.standard_normal(H)
    w["model.norm.weight"] = 1 + 0.2 * rng.standard_normal(H)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = rng.standard_normal((V, H)) * (3 / np.sqrt(H))
    return {k: v.astype(np.float32) for k, v in w.items()}


def adapter(rng, dir, base, c, r, alpha, targets, rslora, rank_pattern):
    dir.mkdir(parents=True, exist_ok=True)
    H, I = c["hidden_size"], c["intermediate_size"]
    hd = H // c["num_attention_heads"]
    shapes = {"q_proj": (c["num_attention_heads"] * hd, H), "k_proj": (c["num_key_value_heads"] * hd, H),
              "v_proj": (c["num_key_value_heads"] * hd, H), "o_proj": (H, H), "gate_proj": (I, H), "up_proj": (I, H),
              "down_proj": (H, I)}
    t = {}
    for i in range(c["num_hidden_layers"]):
        for m in targets:
            o, n = shapes[m]
            rr = rank_pattern.get(m, r)
            path = f"base_model.model.model.layers.{i}.{'self_attn' if m.endswith(('q_proj', 'k_proj', 'v_proj', 'o_proj')) else 'mlp'}.{m}"
            t[path + ".lora_A.weight"] = (rng.uniform(-1, 1, (rr, n)) / np.sqrt(n)).astype(np.float32)
            t[path + ".lora_B.weight"] = (rng.standard_normal((o, rr)) * 0.2).astype(np.float32)
    write_safetensors(dir / "adapter_model.safetensors", t)
    cfg = {"base_model_name_or_path": base, "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
           "init_lora_weights": True, "lora_alpha": alpha, "lora_dropout": 0.0, "modules_to_save": None,
           "peft_type": "LORA", "r": r, "rank_pattern": rank_pattern, "alpha_pattern": {}, "target_modules": sorted(targets),
           "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": rslora}
    (dir / "adapter_config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))


def main():
    rng = np.random.default_rng(13)
    # tiny-llama
    tok = spm_tokenizer()
    d = OUT / "tiny-llama"
    d.mkdir(parents=True, exist_ok=True)
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": len(tok["model"]["vocab"]),
         "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
         "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "torch_dtype": "float32"}
    (d / "config.json").write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
    (d / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (d / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                                                         "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer"}, indent=2) + "\n")
    write_safetensors(d / "model.safetensors", llama_weights(rng, c, False))
    adapter(rng, OUT / "tiny-llama-lora", "tiny-llama", c, 4, 8,
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], True, {})
    # tiny-qwen2
    tok = byte_level_tokenizer()
    d = OUT / "tiny-qwen2"
    d.mkdir(parents=True, exist_ok=True)
    v = tok["model"]["vocab"]
    c = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": len(v),
         "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
         "bos_token_id": v["<|endoftext|>"], "eos_token_id": v["<|im_end|>"], "hidden_act": "silu",
         "use_sliding_window": False, "torch_dtype": "float32"}
    (d / "config.json").write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
    (d / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    chat = json.loads((ROOT / "testdata" / "chat" / "qwen2-instruct" / "tokenizer_config.json").read_text())
    (d / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False, "bos_token": None, "eos_token": "<|im_end|>",
                                                         "chat_template": chat["chat_template"],
                                                         "tokenizer_class": "Qwen2Tokenizer"}, indent=2) + "\n")
    write_safetensors(d / "model.safetensors", llama_weights(rng, c, True))
    adapter(rng, OUT / "tiny-qwen2-lora", "tiny-qwen2", c, 2, 4, ["q_proj", "k_proj", "v_proj"], False, {"k_proj": 4})


if __name__ == "__main__":
    main()
