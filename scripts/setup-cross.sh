#!/usr/bin/env bash
# Installs what scripts/pack.sh cross-builds with: zig and cargo-zigbuild (from PyPI, into
# <repo>/.venv-cross) and the Rust standard library of each target (rustup). Idempotent.
# Prints the directory to put first on PATH.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv-cross"
req="$repo/scripts/requirements-cross.txt"
stamp="$venv/.requirements-cross.txt"

if ! { [ -x "$venv/bin/cargo-zigbuild" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; }; then
  echo "setup-cross: installing zig and cargo-zigbuild into $venv" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
  cp "$req" "$stamp"
fi

installed="$(rustup target list --installed)"
for triple in "$@"; do
  if ! grep -qx "$triple" <<<"$installed"; then
    echo "setup-cross: rustup target add $triple" >&2
    rustup target add "$triple" >&2
  fi
done
echo "$venv/bin"
