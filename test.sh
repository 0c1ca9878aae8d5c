#!/usr/bin/env bash
# Runs every test: builds the solution and runs the xunit suite (unit, CLI, plugin, parity,
# packaging). Needs the .NET 10 SDK and the NuGet feed; nothing else.
set -euo pipefail
cd "$(dirname "$0")"
dotnet test ZipIt.sln -c Release "$@"
