#!/usr/bin/env python3
"""Writes a float32 copy of a float16 safetensors file in which every floating-point value is
replaced by a uniform draw from the interval of float32 values that round to that float16 value:
one of the float32 files `dotnet zipit convert --dtype f16` could have made the input from (check:
converting the output back gives the input's tensors byte for byte). Used to measure how much a
merge row depends on weights below float16's rounding, e.g. the example pair's MuDSC-zip row:
  scripts/f16-candidate.py samples/demo-pair/a.safetensors a1.safetensors 1
  scripts/f16-candidate.py samples/demo-pair/b.safetensors b1.safetensors 101
  dotnet zipit demo --models a1.safetensors b1.safetensors --alphas 1 --betas 1 -o out1
Usage: f16-candidate.py IN OUT SEED (the standard library only)."""
import json, math, random, struct, sys
src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
out_header, chunks, offset = {}, [], 0
for name, info in header.items():
    if name == "__metadata__":
        out_header[name] = info
        continue
    start, end = info["data_offsets"]
    data = body[start:end]
    if info["dtype"] == "F16":
        values = []
        for (v,) in struct.iter_unpack("<e", data):
            if v == 0.0 or not math.isfinite(v):
                values.append(v)  # zeros stay zero (the float32 values that round to ±0 are below half f16's smallest subnormal)
                continue
            m, e = math.frexp(abs(v))           # |v| = m·2^e, m in [0.5, 1)
            ulp = 2.0 ** max(e - 11, -24)       # f16: 11 significant bits; subnormal spacing 2^-24
            # Below a power of two the spacing halves; stay a hair inside the interval so float32 rounding cannot reach its edge.
            down = ulp / 4 if m == 0.5 and e - 11 > -24 else ulp / 2
            u = rng.random()
            delta = (u * (ulp / 2 + down) - down) * 0.999
            values.append(math.copysign(abs(v) + delta, v))
        data = struct.pack(f"<{len(values)}f", *values)
        info = dict(info, dtype="F32")
    out_header[name] = dict(info, data_offsets=[offset, offset + len(data)])
    chunks.append(data)
    offset += len(data)
h = json.dumps(out_header).encode()
h += b" " * (-len(h) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for c in chunks: f.write(c)
