#!/usr/bin/env bash
# Set-up shared by the demo and the tests: JavaScript dependencies (one npm workspace: the addon
# package in packages/native and the plugin in plugins/), the native addon (a debug build;
# `npm run build` makes the release one). Safe to run again: it only redoes what changed.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# npm ci only when package-lock.json or Node's ABI (native modules such as better-sqlite3 are
# built for one) changed since the last install in that folder.
install_node_deps() {
  local dir="$1" stamp="$1/node_modules/.proxy-sigv4-lock" wanted
  wanted="$(cat "$dir/package-lock.json"; echo "node ABI $(node -p process.versions.modules)")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return; fi
  echo "==> npm ci in ${dir#"$repo"/}" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$wanted" > "$stamp"
}

command -v cargo >/dev/null || { echo "cargo is required (install Rust with rustup)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20 or later is required" >&2; exit 1; }

install_node_deps "$repo"
echo "==> building the native addon (debug)" >&2
"$repo/scripts/build-addon.sh"
echo "==> building the Backstage plugin" >&2
(cd "$repo/plugins/proxy-sigv4-backend" && npm run --silent build)
