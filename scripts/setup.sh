#!/usr/bin/env bash
# Set-up shared by the demo and the tests: JavaScript dependencies (one npm workspace: the addon
# package in packages/native and the Backstage packages in plugins/), the native addon (a debug build;
# `npm run build` makes the release one). Safe to run again: it only redoes what changed.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=lib/node-deps.sh
source "$repo/scripts/lib/node-deps.sh"

command -v cargo >/dev/null || { echo "cargo is required (install Rust with rustup)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20 or later is required" >&2; exit 1; }

install_node_deps "$repo"
echo "==> building the native addon (debug)" >&2
"$repo/scripts/build-addon.sh"
# The scaffolder module imports the node library as published (its dist/), so build it first.
for plugin in proxy-sigv4-backend proxy-sigv4-node; do
  echo "==> building plugins/$plugin" >&2
  (cd "$repo/plugins/$plugin" && npm run --silent build)
done
