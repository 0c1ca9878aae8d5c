#!/usr/bin/env bash
# Takes every open GPU measurement of docs/performance.md in one go, on a machine with a GPU and
# PyTorch 2.11 (cu130) installed. Usage: scripts/gpu-run.sh [TORCH_LIB] [OUT]
#   TORCH_LIB  PyTorch's torch/lib (default: python3's own); OUT  results folder (default $OUT or ./gpu-results)
# Needs: artifacts/gpu/zipit (scripts/publish-gpu.sh) and, for the equality test, the .NET SDK.
set -uo pipefail
cd "$(dirname "$0")/.."
lib=${1:-$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
out=${2:-${OUT:-gpu-results}}
mkdir -p "$out" && out=$(cd "$out" && pwd)
export ZIPIT_LIBTORCH=$lib
Z=$PWD/artifacts/gpu/zipit/dotnet-zipit
log() { echo "== $*" | tee -a "$out/summary.txt"; }
gpumem() {  # peak GPU memory of a command, sampled every 0.2 s by nvidia-smi
  local f=$out/$1.gpumem; shift
  ( while true; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits >> "$f"; sleep 0.2; done ) & local s=$!
  /usr/bin/time -v "$@"; local rc=$?
  kill $s; echo "peak GPU MiB: $(sort -n "$f" | tail -1)"; return $rc
}

log "doctor";            $Z doctor --device cuda 2>&1 | tee "$out/doctor.txt"
log "python torch";      python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))' | tee -a "$out/summary.txt"

w=$out/work; mkdir -p "$w"
python3 - "$w/imagenet1000.safetensors" <<'PY'
import sys, torch
from safetensors.torch import save_file
save_file({"images": torch.randn(1000, 3, 224, 224, generator=torch.Generator().manual_seed(0))}, sys.argv[1])
PY
$Z init resnet50 -o "$w/r50a.safetensors" --seed 1 && $Z init resnet50 -o "$w/r50b.safetensors" --seed 2

for dev in cuda cpu; do
  log "ResNet-50 merge, 1000 images, --device $dev"
  gpumem "merge-$dev" $Z merge --models "$w/r50a.safetensors" "$w/r50b.safetensors" --data "$w/imagenet1000.safetensors" \
    --batch-size 100 -o "$w/$dev/merged.safetensors" --device $dev --json > "$out/merge-$dev.json" 2> "$out/merge-$dev.err"
  cat "$out/merge-$dev.json" | tee -a "$out/summary.txt"; grep -E "Elapsed|Maximum resident|peak GPU" "$out/merge-$dev.err" | tee -a "$out/summary.txt"
  [ "$dev" = cuda ] || break   # the CPU run at 1000 images takes hours on small machines; drop this line to take it
done

log "separate stages on cuda (collect, match, zip, reset-bn)"
gpumem collect $Z collect "$w/r50a.safetensors" "$w/r50b.safetensors" --data "$w/imagenet1000.safetensors" --batch-size 100 -o "$w/stats.safetensors" --device cuda --json 2>&1 | tee -a "$out/summary.txt"
/usr/bin/time -v $Z match "$w/stats.safetensors" -o "$w/matches.safetensors" --device cuda --json 2>&1 | grep -E "seconds|Elapsed|Maximum" | tee -a "$out/summary.txt"
/usr/bin/time -v $Z zip "$w/r50a.safetensors" "$w/r50b.safetensors" --matches "$w/matches.safetensors" -o "$w/zipped.safetensors" --device cuda --json 2>&1 | grep -E "seconds|Elapsed|Maximum" | tee -a "$out/summary.txt"
gpumem resetbn $Z reset-bn "$w/zipped.safetensors" --data "$w/imagenet1000.safetensors" --batch-size 100 -o "$w/merged.safetensors" --device cuda --json 2>&1 | tee -a "$out/summary.txt"

log "matcher n=1024, 2048 (CPU by design; see docs/performance.md)"
dotnet run -c Release --project bench/ZipIt.Benchmarks -- --once 1024 2048 2>&1 | tee -a "$out/summary.txt"

if [ -x "$Z" ] && command -v dotnet >/dev/null; then
  log "CPU-vs-GPU equality test"
  ZIPIT_TEST_GPU_TOOL=$Z dotnet test tests/ZipIt.Tests -c Release --filter "FullyQualifiedName~GpuEqualityTests" 2>&1 | tail -5 | tee -a "$out/summary.txt"
fi

if $Z --help | grep -q reproduce; then
  for dev in cuda cpu; do log "reproduce fmnist-5+5 --device $dev"; /usr/bin/time -v $Z reproduce fmnist-5+5 --device $dev 2>&1 | grep -E "Elapsed|Maximum" | tee -a "$out/summary.txt"; done
fi
echo "results in $out"
