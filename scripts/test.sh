#!/usr/bin/env bash
# Runs every test: the Rust core (cargo test), the addon from JavaScript against loopback
# upstreams and moto, the Backstage plugin and the node library (the signer service other
# plugins use) in real test backends on Node 20, 22 and 24, the scaffolder actions in a real
# scaffolder backend, then
# what a release ships: every npm package packed (scripts/pack.sh: six cross-built binaries,
# checked for format, architecture and dynamic dependencies), the arm64 binary run under qemu,
# and the tarballs installed into a fresh create-app Backstage app with no Rust toolchain on
# PATH (scripts/e2e/run.sh). Installs what it needs.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
logs="$(mktemp -d)"

echo "==> set-up" >&2
"$repo/scripts/setup.sh" || exit 1
"$repo/scripts/setup-python.sh" || exit 1
e2e_env="$("$repo/scripts/e2e/tools.sh")" || exit 1
# shellcheck source=/dev/null
source "$e2e_env"
arm64_node="$("$repo/scripts/setup-arm64.sh")" || exit 1
echo "==> set-up done in $SECONDS s" >&2

# Keep the tests away from any AWS set-up of the machine that runs them.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL_STS

failed_suites=0
# Each suite has a time limit of its own, so one that hangs is named and the others still run;
# each prints how long it took, so a slow one shows in CI's log.
run_suite() {
  local name="$1" limit="$2"; shift 2
  echo "==> $name (limit $limit)" >&2
  local started=$SECONDS
  if ! (cd "$repo" && timeout --kill-after=30s "$limit" "$@") 2>&1 | tee "$logs/$name.log"; then
    failed_suites=$((failed_suites + 1))
    echo "==> $name FAILED after $((SECONDS - started)) s" >&2
  else
    echo "==> $name passed in $((SECONDS - started)) s" >&2
  fi
}
# A TypeScript package's tests on another Node, from the same install (TAP, so the closing count
# reads it). Exported, so a suite's `timeout` can run it through bash.
package_tests_on() {
  cd "$repo/plugins/$1" &&
    exec "$2/node" --import tsx --test --test-reporter=tap --test-concurrency=1 src/*.test.ts
}
export -f package_tests_on
export repo

run_suite rust 25m cargo test
run_suite addon 10m node --test --test-concurrency=1 __test__/*.test.js
run_suite plugin-node20 15m npm --prefix plugins/proxy-sigv4-backend test --silent
run_suite plugin-node22 15m bash -c 'package_tests_on "$@"' _ proxy-sigv4-backend "$E2E_NODE22_BIN"
run_suite plugin-node24 15m bash -c 'package_tests_on "$@"' _ proxy-sigv4-backend "$E2E_NODE24_BIN"
run_suite node-library-node20 5m npm --prefix plugins/proxy-sigv4-node test --silent
run_suite node-library-node22 5m bash -c 'package_tests_on "$@"' _ proxy-sigv4-node "$E2E_NODE22_BIN"
run_suite node-library-node24 5m bash -c 'package_tests_on "$@"' _ proxy-sigv4-node "$E2E_NODE24_BIN"
# Node 20 only: a real scaffolder needs better-sqlite3, built for the Node that installed it. The
# e2e loads the module in a Node 22 app.
run_suite scaffolder-module-node20 10m npm --prefix plugins/scaffolder-backend-module-proxy-sigv4 test --silent
run_suite pack 45m "$repo/scripts/pack.sh"
run_suite packaged 10m env PROXY_SIGV4_DIST="$repo/dist-packages" PROXY_SIGV4_ARM64_NODE="$arm64_node" \
  node --test --test-concurrency=1 __test__/packaged/
run_suite e2e 30m "$repo/scripts/e2e/run.sh" "$repo/dist-packages"

# One closing line over all suites, summed from cargo's and node's own summaries.
count() {
  cat "$logs"/*.log | awk -v what="$1" '
    /^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ "^" what) n += $i }
    $1 == "#" && $2 == (what == "passed" ? "pass" : "fail") { n += $3 }
    END { print n + 0 }'
}
passed=$(count passed)
failed=$(count failed)
[ "$failed_suites" -eq 0 ] || echo "failed suites: $failed_suites" >&2
echo "all suites: $passed passed, $failed failed"
[ "$failed_suites" -eq 0 ] && [ "$failed" -eq 0 ]
