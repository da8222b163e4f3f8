#!/usr/bin/env python3
"""Writes testdata/gguf/quants.gguf: blocks of every GGUF tensor type lora4j reads, with the float32 values that
llama.cpp's own Python package (gguf-py, numpy) dequantizes them to, and float32 rows with gguf-py's Q8_0 / Q4_0
quantization of them. The file itself is written by gguf-py's GGUFWriter, so it also tests lora4j's reader on a
file lora4j did not write. Run by hand (numpy only):

    python3 tools/golden/gguf_quants_golden.py /path/to/llama.cpp   # a checkout (gguf-py/ inside)

Tensors (ne = [row length, rows]):
  <T>            raw blocks of type T (random quants, random finite fp16 scales), T in Q8_0 Q4_0 Q5_0 Q4_K Q5_K Q6_K F16 BF16
  <T>.expected   F32: gguf-py's dequantize of <T>
  <T>.source     F32 random values (T in Q8_0 Q4_0), with ties and zero blocks
  <T>.quantized  T: gguf-py's quantize of <T>.source
"""
import sys
import types
from pathlib import Path

import numpy as np

llama_cpp = Path(sys.argv[1])
sys.modules.setdefault("sentencepiece", types.SimpleNamespace(SentencePieceProcessor=None))  # vocab.py imports it
sys.path.insert(0, str(llama_cpp / "gguf-py"))
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as T  # noqa: E402

rng = np.random.default_rng(20260101)
out = Path(__file__).resolve().parents[2] / "testdata" / "gguf" / "quants.gguf"
w = gguf.GGUFWriter(str(out), "lora4j-quants")


def half_bytes(n):
    """n random finite fp16 scales, as bytes (n, 2)."""
    return (rng.standard_normal(n) * 0.05).astype(np.float16).view(np.uint8).reshape(n, 2)


def random_blocks(qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    if qtype in (T.Q8_0, T.Q4_0, T.Q5_0):
        b[:, 0:2] = half_bytes(n_blocks)
    elif qtype in (T.Q4_K, T.Q5_K):
        b[:, 0:2] = half_bytes(n_blocks)
        b[:, 2:4] = half_bytes(n_blocks)
    elif qtype == T.Q6_K:
        b[:, 208:210] = half_bytes(n_blocks)
    return b


for qtype, row, rows in [(T.Q8_0, 64, 5), (T.Q4_0, 64, 5), (T.Q5_0, 64, 5), (T.Q4_K, 512, 3), (T.Q5_K, 512, 3), (T.Q6_K, 512, 3)]:
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = random_blocks(qtype, row // block_size * rows)
    raw = blocks.reshape(rows, row // block_size * type_size)
    w.add_tensor(qtype.name, raw, raw_dtype=qtype)
    values = gguf.quants.dequantize(raw, qtype).astype(np.float32)
    assert values.shape == (rows, row), values.shape
    w.add_tensor(qtype.name + ".expected", values)

for dtype, np_type in [(T.F16, np.float16)]:
    v = (rng.standard_normal((4, 48)) * 3).astype(np_type)
    w.add_tensor(dtype.name, v)
    w.add_tensor(dtype.name + ".expected", v.astype(np.float32))

bf = (rng.standard_normal((4, 48)) * 3).astype(np.float32)
bf_bits = (bf.view(np.uint32) >> 16).astype(np.uint16)   # truncation: any bf16 pattern is a test of widening
w.add_tensor("BF16", bf_bits.view(np.uint8).reshape(4, 96), raw_dtype=T.BF16)
w.add_tensor("BF16.expected", (bf_bits.astype(np.uint32) << 16).view(np.float32))

for qtype in (T.Q8_0, T.Q4_0):
    src = (rng.standard_normal((6, 64)) * 0.1).astype(np.float32)
    src[1, :32] = 0.0                                              # a zero block: d = 0
    src[2, :32] = np.concatenate([[127.0], np.arange(-15, 16) + 0.5])  # Q8_0: d = 1, so x/d = k + 0.5: rounding ties
    src[3, 32:] = np.float32(-1.0)                                 # constant block
    w.add_tensor(qtype.name + ".source", src)
    w.add_tensor(qtype.name + ".quantized", gguf.quants.quantize(src, qtype), raw_dtype=qtype)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", out, out.stat().st_size, "bytes")
