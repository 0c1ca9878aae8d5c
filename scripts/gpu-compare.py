#!/usr/bin/env python3
"""Compares what zipit wrote on the CPU with what it wrote on a GPU (used by scripts/gpu-run.sh).

  gpu-compare.py stages CPU_DIR GPU_DIR    files of collect/match/zip/reset-bn/predict, one per stage
  gpu-compare.py reports CPU_JSON GPU_JSON  two reproduce report.json files (same models, other device)

Prints one line per file or row with the largest difference, and exits 1 when a tolerance is broken:
matches must be identical, statistics, weights and outputs equal within float32 tolerance (below),
accuracies within 0.1 point (a handful of test images may flip on a near tie).
"""
import json
import sys

# file, tolerance relative to the tensor's largest magnitude (None: identical). Float32 convolutions
# and products sum in another order on a GPU (~1e-7 relative per operation); BN statistics and the
# outputs of a 20-layer net accumulate more of it.
STAGES = [
    ("matches.safetensors", None),
    ("stats.safetensors", 1e-5),
    ("zipped.safetensors", 1e-5),
    ("merged.safetensors", 1e-4),
    ("out.safetensors", 1e-4),
]


def stages(cpu_dir, gpu_dir):
    import torch
    from safetensors.torch import load_file

    ok = True
    for name, rel in STAGES:
        a, b = load_file(f"{cpu_dir}/{name}"), load_file(f"{gpu_dir}/{name}")
        if a.keys() != b.keys():
            print(f"{name}: FAIL, tensor names differ")
            ok = False
            continue
        worst, worst_key, bad = 0.0, "", []
        for key in a:
            x, y = a[key], b[key]
            if x.shape != y.shape or x.dtype != y.dtype:
                bad.append(key)
                continue
            if rel is None:
                if not torch.equal(x, y):
                    bad.append(key)
                continue
            x, y = x.double(), y.double()
            diff = (x - y).abs().max().item() if x.numel() else 0.0
            if diff > worst:
                worst, worst_key = diff, key
            scale = x.abs().max().item() if x.numel() else 0.0
            if diff > rel * scale:
                bad.append(key)
        rule = "identical" if rel is None else f"|cpu-gpu| <= {rel:g} x max|cpu|"
        verdict = "ok" if not bad else f"FAIL at {', '.join(bad[:5])}"
        print(f"{name}: {len(a)} tensors, {rule}: {verdict}; largest |cpu-gpu| {worst:.3g} ({worst_key or '-'})")
        ok &= not bad
    return ok


def reports(cpu_json, gpu_json):
    a, b = (json.load(open(p)) for p in (cpu_json, gpu_json))
    rows_a = {r["label"]: r for r in a["results"]}
    ok, worst = True, 0.0
    for row in b["results"]:
        other = rows_a.get(row["label"])
        if other is None:
            print(f"{row['label']}: FAIL, missing on cpu")
            ok = False
            continue
        pairs = [(p["joint"], q["joint"]) for p, q in zip(row["pairs"], other["pairs"])]
        pairs += [(p["avg"], q["avg"]) for p, q in zip(row["pairs"], other["pairs"])]
        diff = max(abs(x - y) for x, y in pairs)
        worst = max(worst, diff)
        verdict = "ok" if diff <= 0.1 + 1e-9 else "FAIL"
        ok &= diff <= 0.1 + 1e-9
        print(f"{row['label']}: joint {row['joint']['mean']:.2f} (gpu) vs {other['joint']['mean']:.2f} (cpu), "
              f"largest per-pair difference {diff:.3f} points: {verdict}")
    print(f"largest difference over all rows and pairs: {worst:.3f} points")
    return ok


if __name__ == "__main__":
    kind, first, second = sys.argv[1:4]
    sys.exit(0 if (stages if kind == "stages" else reports)(first, second) else 1)
