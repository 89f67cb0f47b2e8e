#!/usr/bin/env bash
# Installs what bench/run.js needs: the repository's set-up (scripts/setup.sh), the release addon
# (`npm run build`), a private copy of it for the benchmark (bench/.addon/, so a debug build made
# by the tests in the meantime does not change what is measured), the sign_bench example, the
# peers (npm ci in bench/peers), wrk, strace and valgrind. Safe to run again.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$repo/bench"

"$repo/scripts/setup.sh"

echo "==> building the release addon and the plugin (npm run build)" >&2
(cd "$repo" && npm run --silent build)
mkdir -p "$bench/.addon"
cp "$repo/target/release/libproxy_sigv4.so" "$bench/.addon/proxy-sigv4.node.tmp"
mv -f "$bench/.addon/proxy-sigv4.node.tmp" "$bench/.addon/proxy-sigv4.node"

echo "==> building examples/sign_bench (release)" >&2
(cd "$repo" && cargo build --release --quiet --example sign_bench)

# npm ci only when the lock changed since the last install (better-sqlite3 compiles from source).
stamp="$bench/peers/node_modules/.proxy-sigv4-lock"
if ! { [ -f "$stamp" ] && cmp -s "$bench/peers/package-lock.json" "$stamp"; }; then
  echo "==> npm ci in bench/peers" >&2
  (cd "$bench/peers" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$bench/peers/package-lock.json" "$stamp"
fi

# wrk for the timed phases, strace and valgrind (callgrind) for the counting ones.
missing=()
for tool in wrk strace valgrind; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (apt-get)" >&2
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi
