#!/usr/bin/env bash
# Takes the GPU measurements of docs/performance.md on a machine with a GPU and PyTorch 2.11 (cu130)
# installed. Needs no .NET SDK there: only a zipit built by scripts/publish-gpu.sh (its folder, or
# the archive unpacked by this script), PyTorch's torch/lib, python3 with torch and safetensors.
#
#   scripts/gpu-run.sh [PHASE ...]        default: doctor equality resnet50 reproduce-small train-x4
#   phases: doctor | equality | resnet50 | reproduce-small | train-x4 | train-gn | reproduce-x4 | reproduce-gn | demo-pair
#
# Environment: ZIPIT_GPU_TOOL  the dotnet-zipit to run (default artifacts/gpu/zipit/dotnet-zipit, else
#                              unpacked from $ZIPIT_GPU_ARCHIVE into /tmp/zipit-gpu)
#              ZIPIT_LIBTORCH  libtorch folder (default: python3's torch/lib)
#              ZIPIT_DATA      datasets root (fashion-mnist/ inside)    OUT  results (default ./gpu-results)
#              ZIPIT_GPU_CACHE trained models, kept between phases and runs (default /tmp/zipit-gpu-cache)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-gpu-results}; mkdir -p "$out" && out=$(cd "$out" && pwd)
work=${ZIPIT_GPU_WORK:-/tmp/zipit-gpu-work}; mkdir -p "$work"
cache=${ZIPIT_GPU_CACHE:-/tmp/zipit-gpu-cache}; mkdir -p "$cache"
export ZIPIT_LIBTORCH=${ZIPIT_LIBTORCH:-$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
Z=${ZIPIT_GPU_TOOL:-$repo/artifacts/gpu/zipit/dotnet-zipit}
[ -x "$Z" ] || [ ! -x /tmp/zipit-gpu/zipit/dotnet-zipit ] || Z=/tmp/zipit-gpu/zipit/dotnet-zipit
if [ ! -x "$Z" ] && [ -n "${ZIPIT_GPU_ARCHIVE:-}" ]; then
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="fully_trusted")' "$ZIPIT_GPU_ARCHIVE" /tmp/zipit-gpu &&
    Z=/tmp/zipit-gpu/zipit/dotnet-zipit
fi
[ -x "$Z" ] || { echo "no zipit at $Z: run scripts/publish-gpu.sh or set ZIPIT_GPU_TOOL / ZIPIT_GPU_ARCHIVE" >&2; exit 2; }

log() { echo "== $*" | tee -a "$out/summary.txt"; }
say() { tee -a "$out/summary.txt" >&2; }
# Wall time and peak host RSS (getrusage of the child, as /usr/bin/time -v reports it, which bare
# machines may lack), peak GPU memory (nvidia-smi every 0.2 s).
timed() {
  python3 -c '
import resource, subprocess, sys, time
start = time.monotonic(); rc = subprocess.call(sys.argv[1:])
print(f"Elapsed (wall clock) time: {time.monotonic() - start:.1f} s", file=sys.stderr)
print(f"Maximum resident set size (kbytes): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(rc)' "$@"
}
measured() {
  local name=$1; shift
  ( while true; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; sleep 0.2; done ) > "$work/$name.gpumem" 2>/dev/null & local sampler=$!
  timed "$@" 2> "$work/$name.err"; local rc=$?
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null
  grep -E "Elapsed \(wall|Maximum resident" "$work/$name.err" | sed 's/^\s*/  /' | say
  echo "  peak GPU memory used (MiB, whole GPU): $(sort -n "$work/$name.gpumem" | tail -1)" | say
  [ $rc -eq 0 ] || { echo "  exit $rc; stderr tail:"; tail -5 "$work/$name.err"; } | say
  return $rc
}
images() {  # images N SIZE FILE: seeded random float images as tensor 'images'
  python3 - "$@" <<'PY'
import sys, torch
from safetensors.torch import save_file
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
save_file({"images": torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0))}, path)
PY
}
report() {  # report NAME DIR: keep a reproduce run's report next to the summary, and its table and seconds in it
  cp "$2/report.json" "$out/$1.json"; cp "$2/report.md" "$out/$1.md"
  python3 - "$2/report.json" <<'PY' | say
import json, sys
r = json.load(open(sys.argv[1]))
h = r["hyperparameters"]
print(f"  alpha {h['alpha']} beta {h['beta']}; seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r["seconds"].items()))
for row in r["results"]:
    tasks = " ".join(f"{v['mean']:.1f}±{v['std']:.1f}" for v in row["tasks"].values())
    print(f"  {row['label']:<14} joint {row['joint']['mean']:.1f}±{row['joint']['std']:.1f}  tasks {tasks}  avg {row['avg']['mean']:.1f}±{row['avg']['std']:.1f}")
PY
}

phase_doctor() {
  log "doctor --device cuda"; "$Z" doctor --device cuda 2>&1 | say
  python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' | say
}

# The CPU-vs-GPU equality check of tests/ZipIt.Tests/Device/GpuEqualityTests.cs, without the SDK.
phase_equality() {
  log "equality: the same ResNet-20 merge stage by stage on cpu and cuda"
  local w=$work/equality; rm -rf "$w"; mkdir -p "$w"
  images 48 32 "$w/data.safetensors"
  python3 -c "
import torch; from safetensors.torch import save_file
save_file({'input': torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(99))}, '$w/input.safetensors')"
  "$Z" init resnet20 -o "$w/m1.safetensors" --seed 1 && "$Z" init resnet20 -o "$w/m2.safetensors" --seed 2 || return 1
  for dev in cpu cuda; do
    local d=$w/$dev; mkdir -p "$d"
    "$Z" collect "$w/m1.safetensors" "$w/m2.safetensors" --data "$w/data.safetensors" -o "$d/stats.safetensors" --batch-size 16 --device $dev &&
    "$Z" match "$d/stats.safetensors" -o "$d/matches.safetensors" --device $dev &&
    "$Z" zip "$w/m1.safetensors" "$w/m2.safetensors" --matches "$d/matches.safetensors" -o "$d/zipped.safetensors" --device $dev &&
    "$Z" reset-bn "$d/zipped.safetensors" --data "$w/data.safetensors" -o "$d/merged.safetensors" --device $dev &&
    "$Z" predict "$d/merged.safetensors" -i "$w/input.safetensors" -o "$d/out.safetensors" --device $dev || { echo "  $dev run failed" | say; return 1; }
  done
  python3 scripts/gpu-compare.py stages "$w/cpu" "$w/cuda" 2>&1 | say
}

phase_resnet50() {
  log "ResNet-50 merge: 2 torchvision ResNet-50s (random weights), 1000 images 224x224, --device cuda"
  local w=$work/r50; mkdir -p "$w"
  [ -f "$w/images.safetensors" ] || images 1000 224 "$w/images.safetensors"
  "$Z" init resnet50 -o "$w/a.safetensors" --seed 1 && "$Z" init resnet50 -o "$w/b.safetensors" --seed 2 || return 1
  measured r50-cuda "$Z" merge --models "$w/a.safetensors" "$w/b.safetensors" --data "$w/images.safetensors" \
    --batch-size 100 -o "$w/merged.safetensors" --device cuda --json > "$out/resnet50-cuda.json"
  python3 -c "import json,sys; print('  ' + json.dumps(json.load(open(sys.argv[1])).get('seconds', {})))" "$out/resnet50-cuda.json" 2>&1 | say
}

small=(fmnist-5+5 --width 1 --epochs 3 --train-images 15000 --pairs 3 --test-images 4000)
phase_reproduce-small() {
  log "reproduce ${small[*]} --device cuda (trains 6 models)"
  measured small-cuda "$Z" reproduce "${small[@]}" --device cuda --cache "$cache" -o "$work/small-cuda" > "$work/small-cuda.out" && report small-cuda "$work/small-cuda"
  log "the same on --device cpu, reusing the models trained on cuda (merges, BN resets, evaluation on the CPU)"
  measured small-cpu "$Z" reproduce "${small[@]}" --device cpu --cache "$cache" -o "$work/small-cpu" > "$work/small-cpu.out" && report small-cpu "$work/small-cpu"
  log "cpu vs cuda: the same trained models merged and evaluated on each"
  python3 scripts/gpu-compare.py reports "$work/small-cpu/report.json" "$work/small-cuda/report.json" 2>&1 | say
}

phase_train-x4() {
  log "train ResNet-20x4, fashion-mnist:0-4, 1 epoch, --device cuda"
  measured train-x4 "$Z" train resnet20 --arch-set width=4 --data fashion-mnist:0-4 --epochs 1 -o "$work/x4.safetensors" --device cuda -v n
  grep -i -E "images/s|accuracy" "$work/train-x4.err" | tail -2 | say
}

phase_train-gn() {
  # GroupNorm ResNets collapse under the reference's 100·cosine head; this compares logit scales.
  for scale in ${GN_SCALES:-100 20 10}; do
    log "train ResNet-20x4 GroupNorm, fashion-mnist:0-4, 2 epochs, lr 0.02, logit scale $scale, --device cuda"
    "$Z" train resnet20 --arch-set width=4 --arch-set norm=gn --data fashion-mnist:0-4 --epochs 2 --lr 0.02 --logit-scale "$scale" \
      -o "$work/gn-$scale.safetensors" --device cuda -v n 2>&1 | grep -i -E "epoch|validation accuracy" | tail -3 | say
  done
}

phase_reproduce-x4() {
  log "reproduce fmnist-5+5 --width 4 --pairs 3 (default epochs) --device cuda"
  measured reproduce-x4 "$Z" reproduce fmnist-5+5 --width 4 --pairs 3 --device cuda --cache "$cache" -o "$work/x4" > "$work/x4.out" &&
    report reproduce-x4 "$work/x4" && cp "$work/x4/stop-points.png" "$work/x4/alpha-beta-grid.png" "$out/"
}

# The example pair of samples/demo-pair at the reference's scale: train's defaults are the
# reference's recipe (all 27,000 images of each half, 20 epochs, batch 256, one-cycle to lr 0.2).
# Writes $OUT/demo-pair/{a,b}.safetensors (float16, as shipped) and the demo's table on them;
# copying them over samples/demo-pair (and its README's commands) ships them.
phase_demo-pair() {
  log "demo pair: train resnet20 --arch-set width=4 (reference recipe, full scale) for fashion-mnist:0-4 seed 1 and 5-9 seed 2, float16, then demo --models"
  mkdir -p "$out/demo-pair"
  for spec in "a fashion-mnist:0-4 1" "b fashion-mnist:5-9 2"; do
    set -- $spec
    measured "demo-pair-$1" "$Z" train resnet20 --arch-set width=4 --data "$2" --seed "$3" -o "$work/$1-f32.safetensors" --device cuda -v n || return 1
    grep -i -E "images/s|accuracy" "$work/demo-pair-$1.err" | tail -2 | say
    "$Z" convert "$work/$1-f32.safetensors" --dtype f16 -o "$out/demo-pair/$1.safetensors" || return 1
  done
  measured demo-pair-demo "$Z" demo --models "$out/demo-pair/a.safetensors" "$out/demo-pair/b.safetensors" --device cuda -o "$work/demo-pair" > "$work/demo-pair.out" &&
    report demo-pair "$work/demo-pair"
}

phase_reproduce-gn() {
  log "reproduce fmnist-5+5 --width 4 --norm gn --pairs ${GN_PAIRS:-3} --epochs ${GN_EPOCHS:-20} --device cuda"
  measured reproduce-gn "$Z" reproduce fmnist-5+5 --width 4 --norm gn --pairs "${GN_PAIRS:-3}" --epochs "${GN_EPOCHS:-20}" ${GN_SCALE:+--logit-scale $GN_SCALE} --device cuda \
    --cache "$cache" -o "$work/gn" > "$work/gn.out" &&
    report reproduce-gn "$work/gn"
}

phases=("$@"); [ ${#phases[@]} -gt 0 ] || phases=(doctor equality resnet50 reproduce-small train-x4)
for p in "${phases[@]}"; do "phase_$p" || echo "phase $p failed" | say; done
echo "results in $out"
