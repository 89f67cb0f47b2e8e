#!/usr/bin/env bash
# Runs every test: the Rust core (cargo test), the addon from JavaScript against loopback
# upstreams and moto, and the Backstage plugin in a real test backend. Installs what it needs.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
logs="$(mktemp -d)"

"$repo/scripts/setup.sh" || exit 1
"$repo/scripts/setup-python.sh" || exit 1

# Keep the tests away from any AWS set-up of the machine that runs them.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL_STS

failed_suites=0
run_suite() {
  local name="$1"; shift
  echo "==> $name" >&2
  if ! (cd "$repo" && "$@") 2>&1 | tee "$logs/$name.log"; then failed_suites=$((failed_suites + 1)); fi
}

run_suite rust cargo test
run_suite addon node --test --test-concurrency=1 __test__/
run_suite plugin npm --prefix plugins/proxy-sigv4-backend test --silent

# One closing line over all suites, summed from cargo's and node's own summaries.
count() {
  cat "$logs"/*.log | awk -v what="$1" '
    /^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ "^" what) n += $i }
    $1 == "#" && $2 == (what == "passed" ? "pass" : "fail") { n += $3 }
    END { print n + 0 }'
}
passed=$(count passed)
failed=$(count failed)
echo "all suites: $passed passed, $failed failed"
[ "$failed_suites" -eq 0 ] && [ "$failed" -eq 0 ]
