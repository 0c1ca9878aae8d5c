#!/usr/bin/env bash
# The main job on a fresh machine (needs the .NET 10 SDK, apt-get and npm): install the data
# (./setup.sh), build and pack zipit, install it as a local tool from this repository's manifest,
# and run `dotnet zipit demo`: the paper's Fashion-MNIST 5+5 experiment, small enough for a CPU.
# Extra arguments go to demo (e.g. ./quickstart.sh --epochs 4 -o my-demo).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

./setup.sh

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

echo "== dotnet zipit demo -o artifacts/demo $*" >&2
dotnet zipit demo -o artifacts/demo "$@"
