#!/usr/bin/env bash
# Starts the demo: a Backstage backend on 127.0.0.1:7007 with the plugin, proxying to a built-in
# local upstream that verifies SigV4 signatures. It prints a curl to try.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
cd "$repo/plugins/proxy-sigv4-backend" && exec npm start --silent
