#!/usr/bin/python3
"""Writes bitsandbytes 4-bit checkpoints of the tiny Llama-family models, as transformers saves a model loaded with
BitsAndBytesConfig(load_in_4bit=True), and the golden values lora4j's tests compare with.

Run by hand from the repository root with Debian's PyTorch (torch 1.13; no bitsandbytes, no transformers, no pip):

    /usr/bin/python3 tools/golden/bnb4bit_golden.py

bitsandbytes is not installed, so its quantization is written out here in torch, following its source
(bitsandbytes/functional.py quantize_4bit, quantize_blockwise, get_4bit_type, create_dynamic_map, QuantState.as_dict;
the "default" backend's quantize_4bit / quantize_blockwise kernels: x * (1 / absmax), clamped to [-1, 1], bucketed by
the midpoints of the sorted code; two 4-bit values per byte, the first in the high nibble; double quantization: the
absmax values minus their mean, 8-bit blockwise in blocks of 256 with the signed dynamic map).
Layout as bitsandbytes' Linear4bit._save_to_state_dict writes it: `<module>.weight` uint8 [(n + 1) / 2, 1],
`.weight.absmax` (float32, or uint8 with double quantization), `.weight.quant_map` (16 float32),
`.weight.nested_absmax`, `.weight.nested_quant_map` (256 float32), `.weight.quant_state.bitsandbytes__<nf4|fp4>`
(uint8 bytes of json.dumps({quant_type, blocksize, dtype, shape[, nested_blocksize, nested_dtype, nested_offset]})).
Only the linear layers of the decoder are quantized (transformers keeps lm_head and the embeddings); the other tensors
are saved in the model's dtype. config.json gets transformers' BitsAndBytesConfig.to_dict() as quantization_config.

testdata/bnb/llama-nf4/      llama-golden: nf4, double quantization, bfloat16 (weights rounded to bf16 first)
testdata/bnb/qwen2-fp4/      qwen2-golden: fp4, no double quantization, float32 (q/k/v biases, tied embeddings)
testdata/bnb/tiny-llama-nf4/ gguf/tiny-llama (with its tokenizer, for the CLI tests): nf4, double quantization, bfloat16
testdata/bnb/blocks-fp4-nested/, blocks-nf4/  lone weights (no model) for the layouts the models do not reach: block sizes
    32, 128 and 4096, float16, 300 blocks in 2 nested blocks of 256 (the last ragged)
    each with golden.safetensors: "dequant.<key>" for some quantized weights (bitsandbytes' dequantize_4bit: code[q] *
    absmax in float32, the nested absmax dequantized first, then cast to the quant_state dtype), "logits" [1, T, V] of the
    model run in float32 on the dequantized weights (llama_golden.forward); golden.json: input_ids, loss.
Deterministic (seed 2027, one torch thread): byte-identical on rerun.
"""
import json, math, os, shutil, struct, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_golden as g  # noqa: E402
import llama_golden as lg  # noqa: E402

OUT = os.path.join(g.TESTDATA, "bnb")
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
DTYPES = {"float32": (torch.float32, "F32"), "bfloat16": (torch.bfloat16, "BF16"), "float16": (torch.float16, "F16")}


# ----------------------------------------------------------------------------- bitsandbytes, by hand
def get_4bit_type(quant_type):
    """functional.get_4bit_type: the 16 values a 4-bit code indexes, divided by their largest magnitude (float32)."""
    if quant_type == "nf4":
        data = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0]
    else:  # fp4: sign bit, 2 exponent bits, 1 mantissa bit, in bit-pattern order
        data = [0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0]
    data = torch.tensor(data)
    data.div_(data.abs().max())
    return data


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """functional.create_dynamic_map: the 256-value signed dynamic map of 8-bit blockwise quantization."""
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                             else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    assert additional_items == 0
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def bucket(scaled, code):
    """The index into `code` of each scaled value: torch.bucketize over the midpoints of the sorted code (stable sort:
    fp4's -0 and +0 keep their order), mapped back to code positions."""
    values, order = torch.sort(code, stable=True)
    return order[torch.bucketize(scaled, (values[:-1] + values[1:]) / 2, out_int32=True).long()]


def quantize_blockwise(A, code, blocksize):
    """The default backend's quantize_blockwise: uint8 codes, float32 absmax per block (a ragged last block divides)."""
    A_flat = A.reshape(-1).float()
    n = A_flat.numel()
    rem = n % blocksize
    full = n - rem
    A_com = A_flat[:full].reshape(full // blocksize, blocksize)
    absmax = A_com.abs().max(dim=-1)[0]
    scaled = torch.clamp(A_com * (1.0 / absmax.clamp(min=1e-38).view(-1, 1)), -1, 1).reshape(-1)
    if rem:
        am = A_flat[full:].abs().max().clamp(min=1e-38)
        absmax = torch.cat([absmax, am.unsqueeze(0)])
        scaled = torch.cat([scaled, torch.clamp(A_flat[full:] / am, -1, 1)])
    return bucket(scaled, code).to(torch.uint8), absmax


def quantize_4bit(A, quant_type, blocksize, double_quant):
    """functional.quantize_4bit: packed [(n + 1) / 2, 1] uint8 and the QuantState's fields."""
    code = get_4bit_type(quant_type)
    q, absmax = quantize_blockwise(A, code, blocksize)
    if q.numel() % 2:
        q = torch.cat([q, torch.zeros(1, dtype=torch.uint8)])
    packed = ((q[::2] << 4) | q[1::2]).unsqueeze(1)
    state = {"quant_type": quant_type, "blocksize": blocksize, "dtype": str(A.dtype).replace("torch.", ""),
             "shape": list(A.shape), "code": code, "absmax": absmax}
    if double_quant:
        offset = absmax.mean()
        qabsmax, nested_absmax = quantize_blockwise(absmax - offset, create_dynamic_map(signed=True), 256)
        state.update(absmax=qabsmax, nested_absmax=nested_absmax, nested_code=create_dynamic_map(signed=True),
                     nested_blocksize=256, nested_dtype="float32", nested_offset=offset.item())
    return packed, state


def dequantize_blockwise(q, absmax, code, blocksize):
    out = code[q.long()]
    n, rem = out.numel(), out.numel() % blocksize
    full = n - rem
    head = (out[:full].reshape(-1, blocksize) * absmax[:full // blocksize].view(-1, 1)).reshape(full)
    return torch.cat([head, out[full:] * absmax[-1]]) if rem else head


def dequantize_4bit(packed, state):
    """functional.dequantize_4bit (default backend): the nested absmax first (+ offset, float32), then code[q] * absmax
    in float32, cast to the state's dtype."""
    absmax = state["absmax"]
    if "nested_absmax" in state:
        absmax = dequantize_blockwise(absmax, state["nested_absmax"], state["nested_code"], state["nested_blocksize"])
        absmax += torch.tensor(float(state["nested_offset"]))
    q = torch.empty(packed.numel() * 2, dtype=torch.int64)
    q[::2], q[1::2] = packed.view(-1) >> 4, packed.view(-1) & 0xF
    n = math.prod(state["shape"])
    out = dequantize_blockwise(q[:n], absmax, state["code"], state["blocksize"])
    return out.reshape(state["shape"]).to(DTYPES[state["dtype"]][0])


def state_tensors(key, packed, state):
    """QuantState.as_dict(packed=True) under `<key>.`, as Linear4bit._save_to_state_dict names them."""
    t = {key: packed, key + ".absmax": state["absmax"], key + ".quant_map": state["code"]}
    info = {k: state[k] for k in ("quant_type", "blocksize", "dtype", "shape")}
    if "nested_absmax" in state:
        t[key + ".nested_absmax"] = state["nested_absmax"]
        t[key + ".nested_quant_map"] = state["nested_code"].clone()
        info.update({k: state[k] for k in ("nested_blocksize", "nested_dtype", "nested_offset")})
    t[key + ".quant_state.bitsandbytes__" + state["quant_type"]] = torch.tensor(list(json.dumps(info).encode("utf-8")),
                                                                              dtype=torch.uint8)
    return t


def quantization_config(quant_type, double_quant, compute_dtype):
    """transformers' BitsAndBytesConfig(load_in_4bit=True, ...).to_dict(), as config.json carries it."""
    return {"_load_in_4bit": True, "_load_in_8bit": False, "bnb_4bit_compute_dtype": compute_dtype,
            "bnb_4bit_quant_storage": "uint8", "bnb_4bit_quant_type": quant_type,
            "bnb_4bit_use_double_quant": double_quant, "llm_int8_enable_fp32_cpu_offload": False,
            "llm_int8_has_fp16_weight": False, "llm_int8_skip_modules": None, "llm_int8_threshold": 6.0,
            "load_in_4bit": True, "load_in_8bit": False, "quant_method": "bitsandbytes"}


# ----------------------------------------------------------------------------- safetensors with any dtype
ST = {torch.float32: ("F32", "<f4", torch.float32), torch.bfloat16: ("BF16", "<i2", torch.int16),
      torch.float16: ("F16", "<f2", torch.float16), torch.uint8: ("U8", "u1", torch.uint8)}


def write_safetensors(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        t = tensors[k].contiguous()
        name, np_type, view = ST[t.dtype]
        data = t.view(view).numpy().astype(np_type).tobytes()
        header[k] = {"dtype": name, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header.pop("__metadata__")
    by_name = {v[0]: k for k, v in ST.items()}
    out = {}
    for k, v in header.items():
        b, e = v["data_offsets"]
        dtype = by_name[v["dtype"]]
        out[k] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=ST[dtype][2]).view(dtype).view(v["shape"])
    return out


def load_quantized(path):
    """Reads a checkpoint back the way QuantState.from_dict does and dequantizes it: key -> float32 weight."""
    t = read_safetensors(path)
    out = {}
    for k, v in t.items():
        if ".weight." in k:
            continue
        if v.dtype != torch.uint8:
            out[k] = v.float()
            continue
        qs = [x for x in t if x.startswith(k + ".quant_state.")]
        info = json.loads(bytes(t[qs[0]].numpy()).decode("utf-8"))
        state = {**info, "absmax": t[k + ".absmax"], "code": t[k + ".quant_map"]}
        if k + ".nested_absmax" in t:
            state.update(nested_absmax=t[k + ".nested_absmax"], nested_code=t[k + ".nested_quant_map"])
        out[k] = dequantize_4bit(v, state).float()
    return out


# ----------------------------------------------------------------------------- fixtures
def make(name, source_dir, cfg, quant_type, double_quant, dtype, golden_keys, copy=()):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    params = g.read_safetensors(os.path.join(source_dir, "model.safetensors"))
    torch_dtype, _ = DTYPES[dtype]
    saved, deq = {}, {}
    for k, v in params.items():
        v = v.to(torch_dtype)
        if k.split(".")[-2] in LINEARS and k.endswith(".weight"):
            packed, state = quantize_4bit(v, quant_type, 64, double_quant)
            saved.update(state_tensors(k, packed, state))
            deq[k] = dequantize_4bit(packed, state).float()
        else:
            saved[k] = v
            deq[k] = v.float()
    write_safetensors(os.path.join(d, "model.safetensors"), saved)
    config = {**cfg, "torch_dtype": dtype, "quantization_config": quantization_config(quant_type, double_quant, dtype)}
    g.write_json(os.path.join(d, "config.json"), dict(sorted(config.items())))
    for f in copy:
        shutil.copyfile(os.path.join(source_dir, f), os.path.join(d, f))

    reread = load_quantized(os.path.join(d, "model.safetensors"))
    assert sorted(reread) == sorted(deq) and all(torch.equal(reread[k], deq[k]) for k in deq)
    worst = max((deq[k] - params[k]).abs().max().item() / params[k].abs().max().item() for k in deq if k in params)
    ids = torch.randint(0, cfg["vocab_size"], (1, 16))
    logits, loss = lg.forward(deq, {"rope_scaling": None, **cfg}, ids, ids)
    g.write_safetensors(os.path.join(d, "golden.safetensors"),
                        {"logits": logits, **{"dequant." + k: deq[k] for k in golden_keys}})
    g.write_json(os.path.join(d, "golden.json"), {"input_ids": ids.tolist(), "loss": loss.item(),
                                                  "generated_by": "tools/golden/bnb4bit_golden.py",
                                                  "torch_version": torch.__version__})
    print(f"{name}: {quant_type}, double quant {double_quant}, {dtype}: loss {loss.item():.6f}, "
          f"worst |dequantized - original| / max|original| = {worst:.3f}")
    for f in sorted(os.listdir(d)):
        print(f"  {name}/{f}: {os.path.getsize(os.path.join(d, f)):,} bytes")


def make_blocks(name, quant_type, double_quant, shapes):
    """Lone quantized weights (no model) for the block layouts the models do not reach: block sizes other than 64,
    float16, several nested blocks with a ragged last one. model.safetensors + config.json (quantization_config only)
    and golden.safetensors with "dequant.<key>"."""
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    saved, deq = {}, {}
    for key, (shape, blocksize, dtype) in shapes.items():
        w = (torch.randn(shape) * 0.05).to(DTYPES[dtype][0])
        packed, state = quantize_4bit(w, quant_type, blocksize, double_quant)
        saved.update(state_tensors(key, packed, state))
        deq[key] = dequantize_4bit(packed, state).float()
        print(f"  {name}/{key}: {shape} blocks of {blocksize}, {dtype}, {state['absmax'].numel()} blocks"
              + (f", {state['nested_absmax'].numel()} nested" if double_quant else ""))
    write_safetensors(os.path.join(d, "model.safetensors"), saved)
    g.write_json(os.path.join(d, "config.json"), {"quantization_config": quantization_config(quant_type, double_quant, "float32")})
    reread = load_quantized(os.path.join(d, "model.safetensors"))
    assert sorted(reread) == sorted(deq) and all(torch.equal(reread[k], deq[k]) for k in deq)
    g.write_safetensors(os.path.join(d, "golden.safetensors"), {"dequant." + k: v for k, v in deq.items()})


def main():
    torch.set_num_threads(1)
    torch.manual_seed(2027)
    l0, l1 = "model.layers.0.", "model.layers.1."
    make("llama-nf4", os.path.join(g.TESTDATA, "llama-golden"), lg.LLAMA, "nf4", True, "bfloat16",
         [l0 + "self_attn.q_proj.weight", l0 + "self_attn.k_proj.weight", l1 + "mlp.down_proj.weight"])
    make("qwen2-fp4", os.path.join(g.TESTDATA, "qwen2-golden"), lg.QWEN2, "fp4", False, "float32",
         [l0 + "self_attn.v_proj.weight", l1 + "mlp.gate_proj.weight"])
    tiny = os.path.join(g.TESTDATA, "gguf", "tiny-llama")
    with open(os.path.join(tiny, "config.json")) as f:
        tiny_cfg = json.load(f)
    make("tiny-llama-nf4", tiny, tiny_cfg, "nf4", True, "bfloat16", [l0 + "mlp.up_proj.weight"],
         copy=("tokenizer.json", "tokenizer_config.json"))
    make_blocks("blocks-fp4-nested", "fp4", True, {"a.weight": ([75, 128], 32, "float16"),
                                                   "b.weight": ([8, 64], 64, "bfloat16")})
    make_blocks("blocks-nf4", "nf4", False, {"a.weight": ([24, 64], 128, "float16"), "b.weight": ([4, 1024], 4096, "float32")})


if __name__ == "__main__":
    main()
