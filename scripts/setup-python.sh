#!/usr/bin/env bash
# Creates <repo>/.venv with the pinned Python test tools (moto server, boto3).
# Idempotent: does nothing when the venv already has exactly these requirements.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
req="$repo/scripts/requirements-test.txt"
stamp="$venv/.requirements-test.txt"

if [ -x "$venv/bin/moto_server" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "setup-python: $venv is up to date"
  exit 0
fi

# Debian's python3 ships venv/ensurepip separately; install them only when missing.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup-python: python3-venv missing, installing it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-venv
fi

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
cp "$req" "$stamp"
echo "setup-python: installed $(grep -v '^#' "$req" | tr '\n' ' ')into $venv"
