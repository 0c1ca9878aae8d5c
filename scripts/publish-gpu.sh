#!/usr/bin/env bash
# A self-contained linux-x64 zipit WITHOUT bundled libtorch, for machines that bring their own
# (PyTorch's torch/lib, found via --libtorch / ZIPIT_LIBTORCH or, for --device cuda, auto-detected).
# Output: artifacts/gpu/zipit (folder, ~88 MB) and artifacts/gpu/zipit-gpu-linux-x64.tar.gz (~37 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu
rm -rf "$out" && mkdir -p "$out"
dotnet publish src/ZipIt.Tool/ZipIt.Tool.csproj -c Release -r linux-x64 --self-contained \
  -p:ZipItBundleLibTorch=false -p:SatelliteResourceLanguages=en -o "$out/zipit"
tar czf "$out/zipit-gpu-linux-x64.tar.gz" -C "$out" zipit
du -sh "$out/zipit" "$out/zipit-gpu-linux-x64.tar.gz"
