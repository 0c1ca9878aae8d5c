#!/usr/bin/env bash
# The main job on a fresh machine (needs only the .NET 10 SDK): build and pack zipit, install it as
# a local tool from this repository's manifest, list its plugins, then inspect the embedded ResNet
# checkpoints and check that zipit computes what PyTorch computed on them.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
shared=${ZIPIT_FIXTURES:-../shared/fixtures}

echo "== pack (dotnet pack -c Release -o artifacts/packages)" >&2
dotnet pack ZipIt.sln -c Release -o artifacts/packages -nologo -v q

# NuGet never re-extracts a package id/version it already holds, and the local-tool resolver cache
# remembers where it was extracted, so a re-packed 0.1.0 would be ignored in favour of the previous
# one: forget our own earlier copy first (nothing else is touched).
version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
rm -rf "$cache/dotnet-zipit/$version" "$cache/dotnet-zipit.linux-x64/$version"
rm -f "$HOME"/.dotnet/toolResolverCache/*/dotnet-zipit

echo "== install (dotnet tool restore)" >&2
dotnet tool restore

echo "== dotnet zipit plugins list" >&2
dotnet zipit plugins list

for model in resnet20x2_cifar torchvision_bottleneck_1111; do
  echo "== dotnet zipit inspect $model" >&2
  dotnet zipit inspect "$shared/parity/$model.safetensors" > "artifacts/$model.inspect.txt"
  sed -n '1,/^tensors:$/p' "artifacts/$model.inspect.txt"   # the summary; the tensor table is in the file
  echo "== dotnet zipit predict $model (against PyTorch's output)" >&2
  dotnet zipit predict "$shared/parity/$model.safetensors" \
    --input "$shared/parity/$model.io.safetensors" \
    --output "artifacts/$model.prediction.safetensors" \
    --compare "$shared/parity/$model.io.safetensors" -v n
done
