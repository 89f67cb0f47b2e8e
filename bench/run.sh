#!/usr/bin/env bash
# The benchmark from scratch: set-up, then bench/run.js with the given options (defaults: the full
# run, ~19 min on 2 cores, which writes bench/RESULTS.md, bench/results.json and bench/chart.svg).
#   bench/run.sh                                    full run
#   bench/run.sh --seconds 3 --rounds 1 --gib 0.1   smoke run (prints only; add --write to write, marked SMOKE RUN)
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$bench/setup.sh"
exec node "$bench/run.js" "$@"
