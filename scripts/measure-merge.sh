#!/usr/bin/env bash
# Measures a whole `dotnet zipit merge` of two freshly initialised models against its forward floor,
# on this machine, with the build in src/ZipIt.Tool/bin/Release (run `dotnet build -c Release` first).
#   scripts/measure-merge.sh VARIANT IMAGES SIZE [BATCH] [-- extra merge options]
#   e.g. scripts/measure-merge.sh resnet50 100 224 50
#        scripts/measure-merge.sh resnet20 1000 32 100 -- --arch-set width=4   (settings go to init)
#        MERGE_ARGS="--refit teacher" scripts/measure-merge.sh vit_small_patch16_224 100 224 50
#   (MERGE_ARGS: further options of the measured merge, e.g. a refit or REPAIR)
# Prints the per-stage seconds, the floor (the five model-passes: two base BatchNorm resets, the
# collection over both models and the merged model's reset; estimated as 2.5 × the base resets),
# the ratio of the merge's work (everything but writing the output) to the floor, and peak RSS
# beside the memory estimate the merge makes before its work; with a refit, its seconds split into
# forward passes, float64 moments and solves.
set -euo pipefail
cd "$(dirname "$0")/.."
variant=$1 images=$2 size=$3 batch=${4:-50}; shift $(( $# >= 4 ? 4 : $# ))
[ "${1:-}" = "--" ] && shift
init_args=("$@")
read -r -a merge_args <<< "${MERGE_ARGS:-}"
zipit=(dotnet src/ZipIt.Tool/bin/Release/net10.0/dotnet-zipit.dll)
work=$(mktemp -d /tmp/zipit-measure-XXXXXX); trap 'rm -rf "$work"' EXIT
"${zipit[@]}" init "$variant" -o "$work/a.safetensors" --seed 1 "${init_args[@]}"
"${zipit[@]}" init "$variant" -o "$work/b.safetensors" --seed 2 "${init_args[@]}"
python3 - "$images" "$size" "$work/data.safetensors" <<'PY'
import array, json, random, struct, sys
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
random.seed(0)
values = array.array("f", (random.gauss(0, 1) for _ in range(n * 3 * size * size)))
header = json.dumps({"images": {"dtype": "F32", "shape": [n, 3, size, size], "data_offsets": [0, len(values) * 4]}}).encode()
header += b" " * (-len(header) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(header))); f.write(header); values.tofile(f)
PY
# The memory estimate, as the refusal under an impossible limit states it (exit 5, nothing done).
"${zipit[@]}" merge --models "$work/a.safetensors" "$work/b.safetensors" --data "$work/data.safetensors" \
  --batch-size "$batch" -o "$work/merged.safetensors" --max-memory 1B "${merge_args[@]}" 2> "$work/estimate" || true
/usr/bin/time -f "%M" -o "$work/rss" "${zipit[@]}" merge --models "$work/a.safetensors" "$work/b.safetensors" --data "$work/data.safetensors" \
  --batch-size "$batch" -o "$work/merged.safetensors" --json -v n "${merge_args[@]}" > "$work/out.json" 2> "$work/log"
python3 - "$work/out.json" "$work/rss" "$variant" "$images" "$size" "$work/estimate" "${MERGE_ARGS:-}" "$work/log" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1])); s = r["seconds"]; rss = int(open(sys.argv[2]).read().split()[-1]) / 1024 / 1024
split = re.search(r"refit seconds: (.*)", open(sys.argv[8]).read())
estimate = re.search(r"needs about ([^()]*) of memory", open(sys.argv[6]).read())
floor = 2.5 * s.get("resetBnBase", 0)
work = r["total"] - s.get("write", 0)
print(f"{sys.argv[3]}, {sys.argv[4]} images at {sys.argv[5]}x{sys.argv[5]} {sys.argv[7]}")
for k, v in s.items(): print(f"  {k:14s} {v:8.2f} s")
print(f"  total          {r['total']:8.2f} s   (work without writing: {work:.2f} s)")
print(f"  forward floor  {floor:8.2f} s   (2.5 x base BN reset)")
print(f"  ratio          {work / floor if floor else float('nan'):8.2f}   (without load: {(work - s.get('load', 0)) / floor if floor else float('nan'):.2f})")
print(f"  peak RSS       {rss:8.2f} GiB   (estimated before the work: {estimate.group(1) if estimate else 'n/a'})")
if split: print(f"  refit split    {split.group(1)}")
PY
