#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of tests/ZipIt.Tests/Checkpoints/PyTorchFixtures, once.

Run from the repository root with a real PyTorch (Debian's python3-torch, 1.13):
    /usr/bin/python3 tests/ZipIt.Tests/Checkpoints/PyTorchFixtures/make_fixtures.py

Every .pt/.bin file is written by torch.save; each has a safetensors twin (written here with struct
and json, no safetensors package) holding the same tensors, contiguous, so the tests can compare
zipit's reading of the .pt file with its reading of the twin. The zip-format files come out
byte-identical on every run; the legacy ones do not (torch numbers their storages by object id).
"""
import collections
import json
import os
import struct
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
PARITY = os.path.join(ROOT, "..", "shared", "fixtures", "parity")

CODES = {
    torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2), torch.float64: ("F64", 8),
    torch.int64: ("I64", 8), torch.int32: ("I32", 4), torch.int16: ("I16", 2), torch.int8: ("I8", 1),
    torch.uint8: ("U8", 1), torch.bool: ("BOOL", 1),
}
DTYPES = {code: dtype for dtype, (code, _) in CODES.items()}


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the raw 16 bits
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, data, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": CODES[t.dtype][0], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        data.append(b)
        offset += len(b)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in data:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = collections.OrderedDict()
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        dtype = DTYPES[e["dtype"]]
        buf = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16) if buf else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(Block(8))
        self.fc = nn.Linear(8, 10)


def tiny_resnet():
    torch.manual_seed(0)
    model = TinyResNet()
    model.train()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.num_batches_tracked.fill_(7)
    return model.state_dict()


def cifar_resnet_111():
    """State dict of a CIFAR-layout ResNet with blocks 1,1,1 (3×3 projection shortcuts), random values."""
    g = torch.Generator().manual_seed(11)
    sd = collections.OrderedDict()
    def conv(name, o, i):
        sd[name + ".weight"] = torch.randn(o, i, 3, 3, generator=g) * (2.0 / (9 * i)) ** 0.5
    def bn(name, c):
        sd[name + ".weight"] = 1 + 0.1 * torch.randn(c, generator=g)
        sd[name + ".bias"] = 0.1 * torch.randn(c, generator=g)
        sd[name + ".running_mean"] = 0.1 * torch.randn(c, generator=g)
        sd[name + ".running_var"] = 1 + 0.1 * torch.rand(c, generator=g)
        sd[name + ".num_batches_tracked"] = torch.tensor(3, dtype=torch.int64)
    conv("conv1", 16, 3); bn("bn1", 16)
    widths = [16, 32, 64]
    for s, c in enumerate(widths, start=1):
        i = widths[s - 2] if s > 1 else 16
        conv(f"layer{s}.0.conv1", c, i); bn(f"layer{s}.0.bn1", c)
        conv(f"layer{s}.0.conv2", c, c); bn(f"layer{s}.0.bn2", c)
        if s > 1:
            conv(f"layer{s}.0.shortcut.0", c, i); bn(f"layer{s}.0.shortcut.1", c)
    sd["linear.weight"] = torch.randn(10, 64, generator=g) * 0.1
    sd["linear.bias"] = torch.randn(10, generator=g) * 0.1
    return sd


def every_dtype():
    torch.manual_seed(1)
    base = torch.randn(3, 5, dtype=torch.float64) * 100
    out = collections.OrderedDict()
    for dtype, (code, _) in CODES.items():
        if dtype == torch.bool:
            out["t_" + code.lower()] = base > 0
        elif dtype.is_floating_point:
            out["t_" + code.lower()] = base.to(dtype)
        else:
            lo = {torch.uint8: 0}.get(dtype, -100)
            out["t_" + code.lower()] = base.clamp(lo, 120).to(dtype)
    out["t_i64_large"] = torch.tensor([2**40 + 3, -(2**50), 0], dtype=torch.int64)
    out["t_f32_empty"] = torch.empty(0, 4)
    return out


def views():
    """Shared storages, views with offsets and strides, and 0-dim scalars, as PyTorch saves them."""
    torch.manual_seed(2)
    base = torch.randn(6, 8)
    out = collections.OrderedDict()
    out["base"] = base
    out["rows"] = base[2:4]                # shares base's storage, offset 16
    out["transposed"] = base.t()           # non-contiguous, strides (1, 8)
    out["strided"] = base[1:, 1::3]        # offset 9, strides (8, 3)
    out["expanded"] = torch.arange(4.0).expand(3, 4)  # stride 0
    out["scalar"] = torch.tensor(12345678901, dtype=torch.int64)  # as num_batches_tracked
    out["scalar_f16"] = torch.tensor(1.5, dtype=torch.float16)
    half = torch.randn(4, 4).half()
    out["half_col"] = half[:, 1]          # an F16 view with offset and stride
    return out


# A file that runs a command when torch.load (without weights_only) unpickles it: a real attack's
# shape, with a harmless payload. The tests check that zipit refuses it and that the marker file
# never appears.
HOSTILE_MARKER = "/tmp/zipit-hostile-fixture-ran"


class Hostile:
    def __reduce__(self):
        return (os.system, ("touch " + HOSTILE_MARKER,))


def save(obj, name, legacy=False):
    torch.save(obj, os.path.join(HERE, name), _use_new_zipfile_serialization=not legacy)


def twin(tensors, name, metadata=None):
    write_safetensors(os.path.join(HERE, name), {k: v for k, v in tensors.items()}, metadata)


def main():
    print("torch", torch.__version__, file=sys.stderr)
    sd = tiny_resnet()
    save(sd, "tiny_resnet.pt")
    twin(sd, "tiny_resnet.safetensors")
    save({"state_dict": sd, "epoch": 3, "best_acc": 0.91, "arch": "tiny",
          "optimizer": {"state": {0: {"momentum_buffer": torch.ones(3)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}},
         "tiny_resnet_wrapped.pt")
    save(sd, "tiny_resnet_legacy.pt", legacy=True)

    dt = every_dtype()
    save(dt, "dtypes.pt")
    save(dt, "dtypes_legacy.pt", legacy=True)
    twin(dt, "dtypes.safetensors")

    v = views()
    save(v, "views.pt")
    save(v, "views_legacy.pt", legacy=True)
    twin(v, "views.safetensors")

    # A Hugging Face style folder: config.json + pytorch_model.bin.
    folder = os.path.join(HERE, "hf_folder")
    os.makedirs(folder, exist_ok=True)
    torch.save(sd, os.path.join(folder, "pytorch_model.bin"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"architecture": "tiny_resnet", "num_classes": 10, "num_features": 8, "global_pool": "avg",
                   "pretrained": False, "drop_rate": 0.25, "label_names": ["a", "b"],
                   "model_args": {"num_heads": 2, "depth": 1, "act": "relu"},
                   "pretrained_cfg": {"mean": [0.5, 0.5, 0.5], "tag": "x"}}, f, indent=2)

    # A sharded pytorch_model.bin checkpoint, as transformers writes it.
    sharded = os.path.join(HERE, "hf_sharded_bin")
    os.makedirs(sharded, exist_ok=True)
    keys = sorted(sd)
    parts = [keys[: len(keys) // 2], keys[len(keys) // 2:]]
    weight_map = {}
    for i, part in enumerate(parts):
        shard = f"pytorch_model-{i + 1:05d}-of-{len(parts):05d}.bin"
        torch.save(collections.OrderedDict((k, sd[k]) for k in part), os.path.join(sharded, shard))
        weight_map.update({k: shard for k in part})
    with open(os.path.join(sharded, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(t.numel() * t.element_size() for t in sd.values())}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(sharded, "config.json"), "w") as f:
        json.dump({"architecture": "tiny_resnet", "num_classes": 10}, f, indent=2)

    save(collections.OrderedDict([("weight", torch.ones(2)), ("payload", Hostile())]), "hostile_system.pt")
    save(collections.OrderedDict([("weight", torch.ones(2)), ("payload", Hostile())]), "hostile_system_legacy.pt", legacy=True)

    # A small runnable CIFAR ResNet (one block per stage, width 16/32/64) as a .pt file and its
    # safetensors twin, to run predict on both (parity with PyTorch itself is the shared fixtures' job).
    cifar = cifar_resnet_111()
    save(cifar, "cifar_resnet_111.pt")
    twin(cifar, "cifar_resnet_111.safetensors")


if __name__ == "__main__":
    main()
