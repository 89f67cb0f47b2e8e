#!/usr/bin/env bash
# The benchmark from scratch: set-up, then the full run (~40 min on 2 cores), which writes
# bench/RESULTS.md, results.json and chart.svg, the soak (soak-result.json, quoted by RESULTS.md)
# and the profile by component (PROFILE.md). With options, only bench/run.js with them:
#   bench/run.sh                                    full run, soak, profile
#   bench/run.sh --seconds 3 --rounds 1 --gib 0.1   smoke run (prints only; add --write to write, marked SMOKE RUN)
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$bench/setup.sh"
if [ $# -gt 0 ]; then exec node "$bench/run.js" "$@"; fi
node "$bench/run.js"
node "$bench/soak.js"
node "$bench/profile.js"
# RESULTS.md again, with the soak just run.
node "$bench/run.js" --report
